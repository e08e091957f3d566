// Command app is what `make demo` runs with `go run .` under kubectl mirror:
// a service that reads its configuration from the environment and a mounted
// ConfigMap and calls another Service by its cluster name, none of which
// exist on this machine.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	fmt.Printf("env: LITERAL=%s POD_NAME=%s\n", os.Getenv("LITERAL"), os.Getenv("POD_NAME"))
	conf, err := os.ReadFile("/etc/echo/config/app.conf")
	if err != nil {
		fail(err)
	}
	fmt.Printf("config file: %s\n", strings.TrimSpace(string(conf)))
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://echo/from-go-run")
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	var reply struct{ Pod, Remote string }
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		fail(err)
	}
	fmt.Printf("http://echo/ answered from %s; it saw the caller as %s, inside the cluster\n", reply.Pod, reply.Remote)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "app:", err)
	os.Exit(1)
}
