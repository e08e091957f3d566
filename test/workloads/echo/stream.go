package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
)

// serveConns runs handle, on a goroutine of its own, for every connection to
// addr, and closes the connection after it.
func serveConns(addr string, handle func(net.Conn)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// serveTCP greets each connection with "remote=ADDR pod=NAME\n" (the caller
// as this pod sees it, and this pod) and then echoes every byte back until
// the client half-closes, then half-closes in turn.
func serveTCP(addr string) error {
	return serveConns(addr, func(c net.Conn) {
		if _, err := fmt.Fprintf(c, "remote=%s pod=%s\n", c.RemoteAddr(), os.Getenv("POD_NAME")); err != nil {
			return
		}
		if _, err := io.Copy(c, c); err == nil {
			_ = c.(*net.TCPConn).CloseWrite()
		}
	})
}

// serveUDP answers each datagram with "remote=ADDR\n" followed by its payload.
func serveUDP(addr string) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return err
		}
		reply := append([]byte(fmt.Sprintf("remote=%s pod=%s\n", from, os.Getenv("POD_NAME"))), buf[:n]...)
		_, _ = pc.WriteTo(reply, from)
	}
}

// serveSink reads a line with a byte count N, then N bytes, then answers
// "received N\n": a bulk-transfer target that needs no half-close (which
// kubectl port-forward does not pass on).
func serveSink(addr string) error {
	return serveConns(addr, func(c net.Conn) {
		r := bufio.NewReader(c)
		var want int64
		if _, err := fmt.Fscanf(r, "%d\n", &want); err != nil {
			return
		}
		n, _ := io.CopyN(io.Discard, r, want)
		fmt.Fprintf(c, "received %d\n", n)
	})
}
