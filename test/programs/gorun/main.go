// Command gorun is what the tracer suite runs with `go run .`: the go tool,
// compiler and linker, then the built binary, all under the tracer.
package main

import (
	"fmt"
	"os"
)

func main() {
	b, err := os.ReadFile("message.txt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("gorun says: %s", b)
}
