package agent

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/xtaci/smux"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// defaultDialTimeout bounds a dial when the plugin names no timeout.
const defaultDialTimeout = 30 * time.Second

// serveDial connects from the pod and then pipes the stream and the
// connection together, half-closes included.
func serveDial(st *smux.Stream, req protocol.Request) {
	timeout := defaultDialTimeout
	if req.Timeout > 0 {
		timeout = time.Duration(req.Timeout) * time.Millisecond
	}
	c, err := net.DialTimeout("tcp", req.Address, timeout)
	if err != nil {
		_ = protocol.Write(st, errorResponse(err))
		return
	}
	defer c.Close()
	if err := protocol.Write(st, protocol.Response{Local: c.LocalAddr().String()}); err != nil {
		return
	}
	netpipe.Join(st, c.(*net.TCPConn), nil, nil)
}

// errorResponse describes a failed operation with the errno a program in the
// pod would have seen.
func errorResponse(err error) protocol.Response {
	resp := protocol.Response{Error: err.Error()}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		resp.Errno = unix.ErrnoName(errno)
	case errors.Is(err, os.ErrDeadlineExceeded):
		resp.Errno = "ETIMEDOUT"
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			resp.Errno = "ETIMEDOUT"
		}
	}
	return resp
}
