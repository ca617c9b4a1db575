module nimbus/goapp

go 1.19
