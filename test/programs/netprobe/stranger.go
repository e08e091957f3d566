package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// probeConns makes n GETs, each on a new connection, a little apart: a
// program that opens many short connections.
func probeConns(url string, n int) error {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ok := 0
	for i := 0; i < n; i++ {
		resp, err := client.Get(url)
		if err != nil {
			fmt.Println("request", i, "failed:", err)
		} else {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				ok++
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("%d of %d requests succeeded\n", ok, n)
	return nil
}

// probeStranger is another local user: for the given time it connects to
// every TCP port listening on loopback in this network namespace (read from
// /proc/net/tcp*, which anyone may read), reads what it is given, and sends
// datagrams to every bound loopback UDP port. It reports what it got.
func probeStranger(secs int) {
	var conns, bytes, dgrams atomic.Int64
	end := time.Now().Add(time.Duration(secs) * time.Second)
	var wg sync.WaitGroup
	for time.Now().Before(end) {
		for _, addr := range loopbackPorts("tcp", "0A") { // LISTEN
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					return
				}
				defer c.Close()
				conns.Add(1)
				// Whatever the port leads to, ask it something.
				_, _ = io.WriteString(c, "GET / HTTP/1.0\r\nHost: stranger\r\n\r\n")
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				n, _ := io.Copy(io.Discard, c)
				bytes.Add(n)
			}()
		}
		for _, addr := range loopbackPorts("udp", "07") { // bound
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("udp", addr)
				if err != nil {
					return
				}
				defer c.Close()
				// A DNS query for kubernetes.default: an answer would be the pod's.
				q, _ := hex.DecodeString("abcd010000010000000000000a6b756265726e657465730764656661756c740000010001")
				_, _ = c.Write(q)
				_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				buf := make([]byte, 1500)
				if n, err := c.Read(buf); err == nil {
					dgrams.Add(1)
					bytes.Add(int64(n))
				}
			}()
		}
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	fmt.Printf("stranger: %d connections, %d datagram answers, %d bytes received\n", conns.Load(), dgrams.Load(), bytes.Load())
}

// loopbackPorts lists "127.0.0.1:PORT" and "[::1]:PORT" sockets of the given
// protocol in the given state.
func loopbackPorts(proto, state string) []string {
	var out []string
	for _, v := range []string{"", "6"} {
		f, err := os.Open("/proc/net/" + proto + v)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != state {
				continue
			}
			ip, port, ok := strings.Cut(fields[1], ":")
			p, err := strconv.ParseUint(port, 16, 16)
			if !ok || err != nil {
				continue
			}
			switch ip {
			case "0100007F":
				out = append(out, fmt.Sprintf("127.0.0.1:%d", p))
			case "00000000000000000000000001000000":
				out = append(out, fmt.Sprintf("[::1]:%d", p))
			}
		}
		f.Close()
	}
	return out
}

// probeFlood opens n connections to addr that never authenticate: one in
// three sends junk, the others say nothing. It reports how many the far end
// closed (or reset), and when the last one was closed.
func probeFlood(addr string, n, waitSecs int) error {
	start := time.Now()
	var closed atomic.Int64
	var last atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if i%3 == 0 {
				_, _ = c.Write(make([]byte, 1024))
			}
			_ = c.SetReadDeadline(start.Add(time.Duration(waitSecs) * time.Second))
			_, err := io.Copy(io.Discard, c)
			if err == nil || errors.Is(err, syscall.ECONNRESET) { // the agent closed it
				closed.Add(1)
				last.Store(int64(time.Since(start)))
			}
		}()
	}
	fmt.Println("flood open")
	wg.Wait()
	fmt.Printf("flood: %d of %d closed by the agent, the last after %.1fs\n", closed.Load(), n, time.Duration(last.Load()).Seconds())
	return nil
}
