package incoming

import (
	"context"
	"crypto/rand"
	"errors"
	"net"
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

// ServePeers takes other agents' sessions into the ports this one routes,
// until ctx ends.
func (t *Ports) ServePeers(ctx context.Context) {
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
func servePeer(t *Ports, c net.Conn, pending chan struct{}) {
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
	t.idle.Begin()
	defer t.idle.End()
	t.log.Info("session of another agent joins", zap.Int("port", req.Port), zap.String("holder", s.holder))
	var b [1]byte
	_, _ = ctl.Read(b[:]) // the claim lasts until the joined agent lets go
}

// peer is a verified claimant: its user's key and the agent it came from.
type peer struct{ key, agent string }

// admitPeer challenges the claimant on ctl and returns its claim once it is
// signed for this router by a key the pod spec vouches for.
func admitPeer(t *Ports, ctl *smux.Stream) (protocol.Request, peer, error) {
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
