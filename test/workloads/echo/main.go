// Command echo is the end-to-end tests' workload. It serves HTTP, TCP echo and
// UDP echo, and every answer names the caller's address as the server sees it,
// so a test can tell whether traffic left from the pod or from the laptop.
//
//	echo serve                  HTTP on :8080, TCP echo on :9000, UDP echo on :9001, TCP sink on :9002,
//	                            :9003 never answers a connect
//	echo get URL                print the body of an HTTP GET (a client inside pods)
//	echo udp HOST:PORT MSG      send one datagram, print the reply
//	echo mixed URL N            N GETs on one keep-alive connection, X-User alternating
//	                            alice/bob, one body per line
//	echo grpc HOST:PORT USER    one gRPC health check with x-user: USER, print who served it
//	echo h2c URL USER           one GET over cleartext HTTP/2 with X-User: USER, print the body
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/test/internal/grpcecho"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "get" {
		if err := get(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "echo get:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 3 && os.Args[1] == "mixed" {
		if err := mixed(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "echo mixed:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 3 && (os.Args[1] == "grpc" || os.Args[1] == "h2c") {
		call := grpcecho.Ping
		if os.Args[1] == "h2c" {
			call = grpcecho.GetH2
		}
		out, err := call(os.Args[2], os.Args[3])
		if err != nil {
			fmt.Fprintf(os.Stderr, "echo %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
		fmt.Println(out)
		return
	}
	if len(os.Args) > 3 && os.Args[1] == "udp" {
		if err := udpRequest(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "echo udp:", err)
			os.Exit(1)
		}
		return
	}
	if err := serve(); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func get(url string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}

func mixed(url, count string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}}
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/%d", url, i), nil)
		req.Header.Set("X-User", []string{"alice", "bob"}[i%2])
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Println(strings.TrimSpace(string(b)))
	}
	return nil
}

func udpRequest(addr, msg string) error {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(buf[:n])
	return err
}

func serve() error {
	errs := make(chan error, 5)
	go func() { errs <- serveHTTP(":8080") }()
	go func() { errs <- serveTCP(":9000") }()
	go func() { errs <- serveUDP(":9001") }()
	go func() { errs <- serveSink(":9002") }()
	go func() { errs <- serveSilent(9003) }()
	fmt.Println("echo serving http :8080, tcp :9000, udp :9001, sink :9002, silent :9003")
	return <-errs
}
