module gotest

go 1.22
