package incoming

import (
	"net"
	"sync/atomic"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// Local is where a pod port's connections go when no program listens for
// it (port-forward -R): a host and port this machine dials.
type Local struct {
	Port int // the local port, for progress lines
	// Dial makes the other end of one handed-over connection. When it fails
	// the client's connection is closed (not given to the pod's app: the
	// user named where it goes); Dial counts and tells the failure.
	Dial    func() (*net.TCPConn, error)
	In, Out *atomic.Int64 // bytes from the pod's clients, and back to them
}

// Forward serves podPort from the target's pods with no program listening,
// under the same claims as a program's port (Config.Mode, filters, probes,
// sharing, refusals, pods that join); each connection is joined to one that
// l.Dial makes. It returns on how many pods the port is served; progress
// lines said why not on the others. Close ends it.
func (m *Manager) Forward(podPort int, l Local) int {
	m.mu.Lock()
	if m.forwards == nil {
		m.forwards = map[int]Local{}
	}
	m.forwards[podPort] = l
	m.mu.Unlock()
	return m.servePort(podPort, l.Port)
}

// forwardOf is podPort's Local, when Forward serves it.
func (m *Manager) forwardOf(podPort int) (Local, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.forwards[podPort]
	return l, ok
}

// deliverLocal joins a handed-over connection to one l.Dial makes.
func deliverLocal(st *session.Stream, hdr protocol.IncomingConn, l Local) {
	defer st.Close()
	c, err := l.Dial()
	if hdr.Mode != protocol.ModeMirror {
		// Taken either way: a failed dial closes the client's connection.
		if werr := protocol.WriteDelivered(st, true); werr != nil && err == nil {
			c.Close()
			return
		}
	}
	if err != nil {
		return
	}
	netpipe.Join(c, st, l.Out, l.In)
}
