// Package netpipe joins two connections, half-closes included: the one copy
// loop the agent (pod side) and the plugin (program side) both use.
package netpipe

import (
	"io"
	"net"
	"sync"
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
	if err := copyGrowing(dst, src, n); err == nil {
		_ = dst.CloseWrite()
	} else {
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		dst.Close()
	}
	done <- struct{}{}
}

// Buffer sizes: a connection starts small (a thousand idle ones must stay
// cheap) and moves to a big buffer once a read fills the small one, so bulk
// transfers cross in fewer, larger reads and writes.
const (
	smallBuffer = 32 << 10
	bigBuffer   = 512 << 10
)

var bigBuffers = sync.Pool{New: func() any { b := make([]byte, bigBuffer); return &b }}

// copyGrowing copies src to dst until EOF (nil) or an error, adding the
// bytes to n (when set) as they are read, so totals are live.
func copyGrowing(dst io.Writer, src io.Reader, n *atomic.Int64) error {
	buf := make([]byte, smallBuffer)
	var big *[]byte
	defer func() {
		if big != nil {
			bigBuffers.Put(big)
		}
	}()
	for {
		nr, err := src.Read(buf)
		if nr > 0 {
			if n != nil {
				n.Add(int64(nr))
			}
			if _, werr := dst.Write(buf[:nr]); werr != nil {
				return werr
			}
			if nr == len(buf) && big == nil {
				big = bigBuffers.Get().(*[]byte)
				buf = *big
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
