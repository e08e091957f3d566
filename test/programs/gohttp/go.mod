module example.com/gohttp

go 1.26
