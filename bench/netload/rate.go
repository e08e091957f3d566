package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rateLoad sends GETs at a fixed rate for a while, open loop, on up to conns
// keep-alive connections. A request's latency counts from the moment it was
// due, not from when a connection was free, so a client that falls behind
// shows up in the percentiles instead of quietly lowering the rate. It
// prints the rate reached, p50, p90, p99 and the failures.
func rateLoad(url string, rate, secs, conns int) error {
	tr := &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	name, value, withHeader := strings.Cut(os.Getenv("NETLOAD_HEADER"), ":")
	total := rate * secs
	due := make(chan time.Time, total)
	lat := make([]time.Duration, total)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range due {
				req, err := http.NewRequest(http.MethodGet, url, nil)
				if err != nil {
					failed.Add(1)
					continue
				}
				if withHeader {
					req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
				}
				resp, err := c.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
					continue
				}
				lat[next.Add(1)-1] = time.Since(t)
			}
		}()
	}
	// Release each request when it is due, and every one already due at
	// once when the sleep overslept (a busy machine), so the rate holds.
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := 0; i < total; {
		now := time.Now()
		for ; i < total && !start.Add(time.Duration(i)*interval).After(now); i++ {
			due <- start.Add(time.Duration(i) * interval)
		}
		if i < total {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		}
	}
	close(due)
	wg.Wait()
	elapsed := time.Since(start)
	ok := lat[:next.Load()]
	if len(ok) == 0 {
		return fmt.Errorf("no request succeeded (%d failed)", failed.Load())
	}
	slices.Sort(ok)
	ms := func(q float64) float64 { return float64(ok[int(q*float64(len(ok)-1))].Microseconds()) / 1000 }
	fmt.Printf("rate %d req %.0f req/s p50 %.3f ms p90 %.3f ms p99 %.3f ms failed %d secs %.2f\n",
		len(ok), float64(len(ok))/elapsed.Seconds(), ms(0.50), ms(0.90), ms(0.99), failed.Load(), elapsed.Seconds())
	return nil
}
