// Package netpipe joins two connections, half-closes included: the one copy
// loop the agent (pod side) and the plugin (program side) both use.
package netpipe

import (
	"io"
	"net"
	"sync/atomic"
)

// HalfCloser is a connection whose write side can be closed alone (a TCP
// connection, an smux stream).
type HalfCloser interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// Join copies a to b and b to a until both directions end. EOF on one side
// becomes a half-close of the other, so shutdown(SHUT_WR) crosses intact; an
// error closes the other side (a TCP connection with a reset, so its peer sees
// a failure rather than a clean end). Counters, when given, add the bytes.
func Join(a, b HalfCloser, aToB, bToA *atomic.Int64) {
	done := make(chan struct{}, 2)
	go copyHalf(b, a, aToB, done)
	go copyHalf(a, b, bToA, done)
	<-done
	<-done
	a.Close()
	b.Close()
}

func copyHalf(dst, src HalfCloser, n *atomic.Int64, done chan<- struct{}) {
	var r io.Reader = src
	if n != nil {
		r = counter{src, n}
	}
	if _, err := io.Copy(dst, r); err == nil {
		_ = dst.CloseWrite()
	} else {
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		dst.Close()
	}
	done <- struct{}{}
}

// counter counts bytes as they are read, so totals are live.
type counter struct {
	r io.Reader
	n *atomic.Int64
}

func (c counter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
