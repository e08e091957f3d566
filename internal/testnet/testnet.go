// Package testnet gives tests loopback servers that end with the test.
package testnet

import (
	"net"
	"net/netip"
	"testing"
)

// Serve listens on a loopback TCP port and runs handle, on a goroutine of
// its own, for each connection until the test ends; it returns the port's
// address. handle owns the connection.
func Serve(t testing.TB, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}
