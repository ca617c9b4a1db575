module nimbus/gonet

go 1.19
