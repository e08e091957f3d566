package incoming

import (
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

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
	accepted := make(chan struct{})
	tc, forget, err := m.dialProgram(local, netip.AddrPortFrom(client.Addr().Unmap(), client.Port()), accepted)
	if hdr.Mode != protocol.ModeMirror {
		// The agent waits for this word: a connection the program does not
		// take (it stopped listening, or closed its listener while the
		// connection was queued) goes to the pod's app, not lost.
		took := err == nil && tookIt(tc, accepted)
		if werr := protocol.WriteDelivered(st, took); werr != nil || !took {
			if err == nil {
				_ = tc.SetLinger(0)
				tc.Close()
				forget()
			}
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

// takeWait bounds how long a connection waits for the program's accept
// (the agent waits deliverWait, 5 s, for the word); a program that took
// none by then gives it to the pod's app.
const takeWait = 4 * time.Second

// tookIt waits until the program accepted tc's connection (accepted
// closes) or the kernel ended it: a listener closed with the connection in
// its queue resets it, unread. The socket is watched by the runtime's poller
// beside the accept, so a connection waits for neither longer than it must.
func tookIt(tc *net.TCPConn, accepted <-chan struct{}) bool {
	rc, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	ended := make(chan peekResult, 1)
	go func() { ended <- peek(rc) }()
	stop := func() peekResult {
		_ = tc.SetReadDeadline(time.Now())
		r := <-ended
		_ = tc.SetReadDeadline(time.Time{})
		return r
	}
	timer := time.NewTimer(takeWait)
	defer timer.Stop()
	select {
	case <-accepted:
		stop()
		return true
	case r := <-ended:
		if r == peekData {
			return true // the program answered: it took it (an accept not seen)
		}
		select {
		case <-accepted: // accepted, then closed at once: the program's
			return true
		default:
			return false
		}
	case <-timer.C:
		return stop() == peekData
	}
}

type peekResult int

const (
	peekNone  peekResult = iota // the wait was cut short
	peekData                    // bytes from the program
	peekEnded                   // closed or reset
)

// peek waits until tc has bytes to read or has ended, taking nothing.
func peek(rc syscall.RawConn) peekResult {
	res := peekNone
	var b [1]byte
	_ = rc.Read(func(fd uintptr) bool {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == unix.EAGAIN || err == unix.EINTR:
			return false // wait for the poller
		case err == nil && n > 0:
			res = peekData
		default:
			res = peekEnded
		}
		return true
	})
	return res
}
