package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"
)

// probeReconnect holds a connection open until it is cut (the test drops the
// plugin's port-forward), says how it ended, then makes new HTTP requests
// until one works: what a long-running program sees across a lost session.
func probeReconnect(addr, url string) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		return err
	}
	fmt.Println("inflight up")
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	_, err = io.Copy(io.Discard, r)
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		fmt.Println("inflight ended: reset")
	case err == nil:
		fmt.Println("inflight ended: eof")
	default:
		fmt.Println("inflight ended:", err)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	for attempt := 1; attempt <= 5; attempt++ {
		resp, err := client.Get(url)
		if err != nil {
			fmt.Println("attempt", attempt, "failed:", err)
			time.Sleep(2 * time.Second)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Printf("after: %s\n", body)
		return nil
	}
	return errors.New("no request worked after the drop")
}
