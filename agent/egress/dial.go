// Package egress is the agent's outgoing side: connections and UDP flows
// made from the pod's network namespace for the program, DNS queries among
// them sent again when their answer is lost.
package egress

import (
	"net"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// defaultDialTimeout bounds a dial when the plugin names no timeout.
const defaultDialTimeout = 30 * time.Second

// ServeDial connects from the pod and then pipes the stream and the
// connection together, half-closes included.
func ServeDial(st netpipe.HalfCloser, req protocol.Request) {
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
