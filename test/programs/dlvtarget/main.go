// Command dlvtarget is debugged by the end-to-end tests: it GETs a URL,
// reads a file and an environment variable, and hands all three to report,
// where the tests' debugger stops and reads them.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: dlvtarget URL FILE")
		os.Exit(2)
	}
	body, err := get(os.Args[1])
	config, _ := os.ReadFile(os.Args[2])
	report(body, strings.TrimSpace(string(config)), os.Getenv("LITERAL"), err)
	if err != nil {
		os.Exit(1)
	}
}

func get(url string) (string, error) {
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// report is where the debugger stops: its arguments are what the program
// got from the pod's world.
//
//go:noinline
func report(body, config, literal string, err error) {
	fmt.Println(body)
	fmt.Println(config, literal, err)
}
