package agent

import (
	"bufio"
	"net"
)

// sessionReadBuffer: smux reads each frame's 8-byte header and then its
// payload, two read calls a frame; through this buffer one read takes in
// whatever frames have arrived (a request's header and body together).
const sessionReadBuffer = 64 << 10

// bufferedConn is a session's connection read through a buffer. A read at
// least as large as the buffer, with nothing buffered, goes straight to the
// connection (bufio does no copy then), so bulk payloads are not copied twice.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func newBufferedConn(c net.Conn) bufferedConn {
	return bufferedConn{Conn: c, r: bufio.NewReaderSize(c, sessionReadBuffer)}
}

func (b bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
