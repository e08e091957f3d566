package agent

import (
	"context"
	"crypto/rand"
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

// maxPendingPeers bounds the claims still proving themselves; more are
// closed at once. peerAdmitWait bounds how long one may take.
const (
	maxPendingPeers = 16
	peerAdmitWait   = 2 * time.Second
)

// servePeers takes other agents' sessions into the ports this one routes.
func servePeers(ctx context.Context, t *portTable) {
	ln, err := net.Listen("unix", peerSocket(t.rd.name))
	if err != nil {
		t.log.Warn("other users' sessions cannot share this agent's ports", zap.Error(err))
		return
	}
	context.AfterFunc(ctx, func() { ln.Close() })
	// Two queues: agents (this binary) and anything else in the pod.
	agents, others := make(chan struct{}, maxPendingPeers), make(chan struct{}, maxPendingPeers)
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		pending := others
		if fromAgentBinary(c) {
			pending = agents
		}
		select {
		case pending <- struct{}{}:
		default:
			c.Close()
			continue
		}
		go servePeer(t, c, pending)
	}
}

// servePeer serves one joined session for as long as its agent keeps it.
// Anything in the pod's network namespace can reach the socket, so nothing
// is taken from a claim before it proves that a user whose agent the pod
// spec holds signed it, for this router, within peerAdmitWait.
func servePeer(t *portTable, c net.Conn, pending chan struct{}) {
	admitted := false
	defer func() {
		if !admitted {
			<-pending
		}
	}()
	_ = c.SetDeadline(time.Now().Add(peerAdmitWait))
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
	req, who, err := admitPeer(t, ctl)
	if err != nil {
		t.log.Info("claim of another agent refused", zap.Error(err))
		_ = protocol.Write(ctl, protocol.Response{Error: "claim refused: " + err.Error(), Errno: "EACCES"})
		return
	}
	_ = c.SetDeadline(time.Time{})
	<-pending
	admitted = true
	s, err := newSubscriber(req)
	if err != nil {
		_ = protocol.Write(ctl, protocol.Response{Error: err.Error()})
		return
	}
	s.holder = holder(who.key, who.agent)
	s.session = protocol.KeyFingerprint(who.key) + "/" + req.Session
	s.open = func(hdr protocol.IncomingConn) (netpipe.HalfCloser, error) { return openWith(sess, hdr) }
	s.evict = func(reason string) {
		_ = protocol.Write(ctl, protocol.Response{Error: reason})
		sess.Close()
	}
	leave, err := t.joinLocal(req.Port, s)
	if err != nil {
		_ = protocol.Write(ctl, protocol.ErrorResponse(err))
		return
	}
	defer leave()
	if protocol.Write(ctl, protocol.Response{}) != nil {
		return
	}
	t.idle.begin()
	defer t.idle.end()
	t.log.Info("session of another agent joins", zap.Int("port", req.Port), zap.String("holder", s.holder))
	var b [1]byte
	_, _ = ctl.Read(b[:]) // the claim lasts until the joined agent lets go
}

// peer is a verified claimant: its user's key and the agent it came from.
type peer struct{ key, agent string }

// admitPeer challenges the claimant on ctl and returns its claim once it is
// signed for this router by a key the pod spec vouches for.
func admitPeer(t *portTable, ctl *smux.Stream) (protocol.Request, peer, error) {
	if t.trust == nil {
		return protocol.Request{}, peer{}, errors.New("this agent admits no other agent")
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return protocol.Request{}, peer{}, err
	}
	if err := protocol.Write(ctl, protocol.PeerChallenge{Nonce: nonce}); err != nil {
		return protocol.Request{}, peer{}, err
	}
	var pc protocol.PeerClaim
	if err := protocol.Read(ctl, &pc); err != nil {
		return protocol.Request{}, peer{}, err
	}
	if _, ok := protocol.VerifyClaim(t.trust.podUID, t.rd.name, nonce, pc); !ok {
		return protocol.Request{}, peer{}, errors.New("not signed for this router by the key it names")
	}
	agent, err := t.trust.vouch(pc.Key)
	if err != nil {
		return protocol.Request{}, peer{}, err
	}
	return pc.Claim, peer{key: pc.Key, agent: agent}, nil
}

// openWith opens a stream on sess for a connection: its header, then (for
// a steal) the other side's word that the program took it, then bytes. A
// program that no longer listens says no, and the caller gives the
// connection to the pod's app instead: nothing was read from it yet.
func openWith(sess *smux.Session, hdr protocol.IncomingConn) (netpipe.HalfCloser, error) {
	st, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	if err := protocol.Write(st, hdr); err != nil {
		st.Close()
		return nil, err
	}
	if hdr.Mode == protocol.ModeMirror {
		return st, nil
	}
	_ = st.SetReadDeadline(time.Now().Add(deliverWait))
	taken, err := protocol.ReadDelivered(st)
	_ = st.SetReadDeadline(time.Time{})
	if err != nil || !taken {
		st.Close()
		return nil, errNotDelivered
	}
	return st, nil
}

// deliverWait bounds how long a connection waits for the program's side
// to say it took it; past it the pod's app serves it.
const deliverWait = 5 * time.Second

// errNotDelivered: the program did not take the connection (it stopped
// listening); the pod's app gets it.
var errNotDelivered = errors.New("the program did not take the connection")

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
		err = sendSignedClaim(ctl, owner, s.request(port), s)
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

// sendSignedClaim answers the routing agent's challenge with the claim,
// signed by s's plugin (this agent holds no key).
func sendSignedClaim(ctl *smux.Stream, table string, claim protocol.Request, s *subscriber) error {
	if s.ask == nil {
		return errors.New("no plugin to sign the claim")
	}
	var ch protocol.PeerChallenge
	_ = ctl.SetReadDeadline(time.Now().Add(peerAdmitWait))
	err := protocol.Read(ctl, &ch)
	_ = ctl.SetReadDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("the routing agent's challenge: %w", err)
	}
	a, err := s.ask(protocol.Ask{Sign: &protocol.ClaimToSign{Table: table, Nonce: ch.Nonce, Claim: claim}})
	if err != nil {
		return fmt.Errorf("sign the claim: %w", err)
	}
	return protocol.Write(ctl, protocol.PeerClaim{Claim: claim, Key: a.Key, Signature: a.Signature})
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
			if hdr.Mode != protocol.ModeMirror {
				// The routing agent waits for our plugin's word, passed on.
				if werr := protocol.WriteDelivered(st, err == nil); werr != nil && err == nil {
					up.Close()
					err = werr
				}
			}
			if err != nil {
				st.Close()
				return
			}
			netpipe.Join(st, up, nil, nil)
		}()
	}
}
