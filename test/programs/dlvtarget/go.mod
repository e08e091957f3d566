module example.com/dlvtarget

go 1.26
