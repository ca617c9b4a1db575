module nimbus/goexec

go 1.19
