package incoming

import (
	"io"
	"net/netip"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// deliver makes the handed-over connection to the program's port, from a
// port the program's accept reports as the pod's client. For a mirror the
// program's answers are read and dropped: the pod's app answered.
func (m *Manager) deliver(st *session.Stream, hdr protocol.IncomingConn, local int) {
	if l, ok := m.forwardOf(hdr.Port); ok {
		deliverLocal(st, hdr, l)
		return
	}
	defer st.Close()
	client, err := netip.ParseAddrPort(hdr.Client)
	if err != nil {
		return
	}
	tc, forget, err := m.dialProgram(local, netip.AddrPortFrom(client.Addr().Unmap(), client.Port()))
	if hdr.Mode != protocol.ModeMirror {
		// The agent waits for this word: a connection the program does not
		// take (it stopped listening) goes to the pod's app, not lost.
		if werr := protocol.WriteDelivered(st, err == nil); werr != nil && err == nil {
			tc.Close()
			forget()
			return
		}
	}
	if err != nil {
		return
	}
	defer forget()
	if hdr.Mode != protocol.ModeMirror {
		netpipe.Join(tc, st, nil, nil)
		return
	}
	defer tc.Close()
	// The pod's app answered already: drop the program's answers, and wait for
	// it to end the connection, so it reads the whole copy first.
	drained := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, tc)
		close(drained)
	}()
	if _, err := io.Copy(tc, st); err == nil {
		_ = tc.CloseWrite()
	}
	select {
	case <-drained:
	case <-time.After(30 * time.Second):
	}
}
