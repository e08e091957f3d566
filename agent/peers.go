package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/xtaci/smux"
	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Agents of one pod (one per user) share a port through the agent that
// routes it. They meet on an abstract unix socket named for the router's
// table: abstract sockets belong to the pod's network namespace, so only the
// pod's own containers reach it. A joining agent opens one smux session
// there: its first stream carries the session's claim (a protocol.Request)
// and the answer, then stays open while the claim lasts (the router writes
// on it when another session takes the port over); the router opens one
// stream per connection for the session, headed by protocol.IncomingConn,
// and the joining agent relays it to its plugin.

// peerSocket is the abstract socket of the agent whose table is named table.
func peerSocket(table string) string { return "@kubectl-mirror/" + table }

// servePeers takes other agents' sessions into the ports this one routes.
func servePeers(ctx context.Context, t *portTable) {
	ln, err := net.Listen("unix", peerSocket(t.rd.name))
	if err != nil {
		t.log.Warn("other users' sessions cannot share this agent's ports", zap.Error(err))
		return
	}
	context.AfterFunc(ctx, func() { ln.Close() })
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go servePeer(t, c)
	}
}

// servePeer serves one joined session for as long as its agent keeps it.
func servePeer(t *portTable, c net.Conn) {
	sess, err := smux.Server(c, protocol.SmuxConfig())
	if err != nil {
		c.Close()
		return
	}
	defer sess.Close()
	ctl, err := sess.AcceptStream()
	if err != nil {
		return
	}
	var req protocol.Request
	if err := protocol.Read(ctl, &req); err != nil {
		return
	}
	s, err := newSubscriber(req)
	if err != nil {
		_ = protocol.Write(ctl, protocol.Response{Error: err.Error()})
		return
	}
	s.open = func(hdr protocol.IncomingConn) (netpipe.HalfCloser, error) { return openWith(sess, hdr) }
	s.evict = func(reason string) {
		_ = protocol.Write(ctl, protocol.Response{Error: reason})
		sess.Close()
	}
	leave, err := t.joinLocal(req.Port, s)
	if err != nil {
		_ = protocol.Write(ctl, errorResponse(err))
		return
	}
	defer leave()
	if protocol.Write(ctl, protocol.Response{}) != nil {
		return
	}
	t.idle.begin()
	defer t.idle.end()
	t.log.Info("session of another agent joins", zap.Int("port", req.Port), zap.String("holder", req.Holder))
	var b [1]byte
	_, _ = ctl.Read(b[:]) // the claim lasts until the joined agent lets go
}

// openWith opens a stream on sess for a connection: its header, then bytes.
func openWith(sess *smux.Session, hdr protocol.IncomingConn) (netpipe.HalfCloser, error) {
	st, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	if err := protocol.Write(st, hdr); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// membership is a claim held through another agent: when that agent ends,
// the claim is made again (this agent may route the port itself then).
type membership struct {
	mu      sync.Mutex
	release func() // ends the current claim
	ended   bool
}

// set makes release the current claim's end (at once if the claim ended).
func (m *membership) set(release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		go release()
		return
	}
	m.release = release
}

func (m *membership) leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended = true
	if m.release != nil {
		m.release()
	}
}

func (m *membership) isEnded() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ended
}

// joinPeer claims port for s through the agent whose table is owner.
func joinPeer(ctx context.Context, t *portTable, owner string, port int, s *subscriber) (func(), error) {
	m := &membership{}
	if err := m.claim(ctx, t, owner, port, s); err != nil {
		return nil, err
	}
	return m.leave, nil
}

func (m *membership) claim(ctx context.Context, t *portTable, owner string, port int, s *subscriber) error {
	c, err := net.Dial("unix", peerSocket(owner))
	if err != nil {
		return fmt.Errorf("%w: %v", errNotRouted, err)
	}
	sess, err := smux.Client(c, protocol.SmuxConfig())
	if err != nil {
		c.Close()
		return err
	}
	ctl, err := sess.OpenStream()
	if err == nil {
		err = protocol.Write(ctl, s.request(port))
	}
	var resp protocol.Response
	if err == nil {
		_ = ctl.SetReadDeadline(time.Now().Add(protocol.AuthTimeout))
		err = protocol.Read(ctl, &resp)
		_ = ctl.SetReadDeadline(time.Time{})
	}
	if err != nil {
		sess.Close()
		return fmt.Errorf("%w: %v", errNotRouted, err)
	}
	if resp.Error != "" {
		sess.Close()
		switch resp.Errno {
		case "EADDRINUSE":
			return heldError{resp.Error}
		case "ENOENT":
			return errNotRouted
		}
		return errors.New(resp.Error)
	}
	m.set(func() { sess.Close() })
	t.log.Info("port shared through another agent", zap.Int("port", port), zap.String("agent", owner))
	go relayFromPeer(sess, s)
	go m.watch(ctx, t, ctl, port, s)
	return nil
}

// watch waits for the router's word: another session took the port over,
// or the routing agent ended and the claim is made again.
func (m *membership) watch(ctx context.Context, t *portTable, ctl *smux.Stream, port int, s *subscriber) {
	var resp protocol.Response
	if err := protocol.Read(ctl, &resp); err == nil && resp.Error != "" {
		s.evict(resp.Error)
		return
	}
	if m.isEnded() || ctx.Err() != nil {
		return
	}
	t.log.Info("the agent routing the port ended; claiming it again", zap.Int("port", port))
	removeStaleRedirects()
	leave, err := t.join(ctx, port, s)
	if err != nil {
		s.evict(fmt.Sprintf("port %d was lost: %v", port, err))
		return
	}
	m.set(leave)
}

// relayFromPeer hands each connection the routing agent sends to s.
func relayFromPeer(sess *smux.Session, s *subscriber) {
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go func() {
			var hdr protocol.IncomingConn
			if err := protocol.Read(st, &hdr); err != nil {
				st.Close()
				return
			}
			up, err := s.open(hdr)
			if err != nil {
				st.Close()
				return
			}
			netpipe.Join(st, up, nil, nil)
		}()
	}
}
