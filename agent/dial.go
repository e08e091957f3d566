package agent

import (
	"net"
	"time"

	"github.com/xtaci/smux"

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
		_ = protocol.Write(st, protocol.ErrorResponse(err))
		return
	}
	defer c.Close()
	if err := protocol.Write(st, protocol.Response{Local: c.LocalAddr().String()}); err != nil {
		return
	}
	netpipe.Join(st, c.(*net.TCPConn), nil, nil)
}
