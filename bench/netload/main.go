// Command netload is the benchmarks' client: the same binary runs through
// `kubectl port-forward` and under `kubectl mirror run`, so both are measured
// with one yardstick.
//
//	netload http URL N          N GETs on one keep-alive connection: req/s, p50, p99
//	                            (NETLOAD_HEADER="Name: value" adds a header to each)
//	netload bulk ADDR MIB       send "N\n" and N = MIB MiB to a sink that answers "received N": MiB/s
//	netload hold ADDR N SECS    open N connections to a TCP echo, exchange a line on each,
//	                            hold them SECS seconds, close: prints how many completed
//	netload rate URL RATE SECS CONNS
//	                            GETs at RATE a second for SECS seconds, open loop, on up to
//	                            CONNS keep-alive connections: req/s reached, p50, p90, p99
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: netload http URL N | bulk ADDR MIB | hold ADDR N SECS | rate URL RATE SECS CONNS")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "http":
		n, _ := strconv.Atoi(os.Args[3])
		err = httpLoad(os.Args[2], n)
	case "bulk":
		mib, _ := strconv.Atoi(os.Args[3])
		err = bulk(os.Args[2], mib)
	case "hold":
		n, _ := strconv.Atoi(os.Args[3])
		secs, _ := strconv.Atoi(os.Args[4])
		err = hold(os.Args[2], n, time.Duration(secs)*time.Second)
	case "rate":
		if len(os.Args) < 6 {
			fmt.Fprintln(os.Stderr, "usage: netload rate URL RATE SECS CONNS")
			os.Exit(2)
		}
		rate, _ := strconv.Atoi(os.Args[3])
		secs, _ := strconv.Atoi(os.Args[4])
		conns, _ := strconv.Atoi(os.Args[5])
		err = rateLoad(os.Args[2], rate, secs, conns)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netload:", err)
		os.Exit(1)
	}
}

func httpLoad(url string, n int) error {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		// NETLOAD_HEADER="Name: value" adds a header (a steal filter's match).
		if name, value, ok := strings.Cut(os.Getenv("NETLOAD_HEADER"), ":"); ok {
			req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
	}
	total := time.Since(start)
	slices.Sort(lat)
	fmt.Printf("http %d req %.0f req/s p50 %.3f ms p99 %.3f ms\n", n, float64(n)/total.Seconds(),
		float64(lat[n/2].Microseconds())/1000, float64(lat[n*99/100].Microseconds())/1000)
	return nil
}

func bulk(addr string, mib int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1<<20)
	start := time.Now()
	if _, err := fmt.Fprintf(c, "%d\n", mib<<20); err != nil {
		return err
	}
	for i := 0; i < mib; i++ {
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	total := time.Since(start)
	if want := fmt.Sprintf("received %d", mib<<20); strings.TrimSpace(line) != want {
		return fmt.Errorf("sink said %q, want %q", line, want)
	}
	fmt.Printf("bulk %d MiB %.1f MiB/s\n", mib, float64(mib)/total.Seconds())
	return nil
}

func hold(addr string, n int, d time.Duration) error {
	var ok atomic.Int64
	var wg sync.WaitGroup
	release := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 60*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			if _, err := r.ReadString('\n'); err != nil { // greeting
				return
			}
			if _, err := c.Write([]byte("ping\n")); err != nil {
				return
			}
			if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
				return
			}
			ok.Add(1)
			<-release
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for ok.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("holding %d of %d connections\n", ok.Load(), n)
	time.Sleep(d)
	close(release)
	wg.Wait()
	fmt.Printf("hold %d/%d completed\n", ok.Load(), n)
	return nil
}
