package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

func probeHTTP(url string, n int) error {
	c := &http.Client{Timeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		resp, err := c.Get(url)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		fmt.Println(strings.TrimSpace(string(body)))
	}
	return nil
}

// probeBulk proves every byte arrives: each connection sends size random
// bytes, half-closes, and must read back exactly those bytes.
func probeBulk(addr string, conns, size int) error {
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := bulkOne(addr, size); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	failed := 0
	var first error
	for err := range errs {
		if first == nil {
			first = err
		}
		failed++
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d connections failed, first: %w", failed, conns, first)
	}
	fmt.Printf("bulk ok %d x %d bytes\n", conns, size)
	return nil
}

func bulkOne(addr string, size int) error {
	c, err := net.DialTimeout("tcp", addr, 30*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	payload := make([]byte, size)
	_, _ = rand.Read(payload)
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil { // the echo's greeting
		return err
	}
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		werr <- err
	}()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return err
	}
	if err := <-werr; err != nil {
		return err
	}
	want := sha256.Sum256(payload)
	if n != int64(size) || !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("echo returned %d bytes with another checksum (sent %d)", n, size)
	}
	return nil
}
