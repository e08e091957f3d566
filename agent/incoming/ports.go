package incoming

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Ports are the ports this agent routes. In a pod, the first agent asked
// for a port routes it (its redirect, its listener) for every session that
// shares it; other agents of the pod (other users) join through it
// (peers.go, joinpeer.go).
type Ports struct {
	log  *zap.Logger
	rd   *redirects
	idle Activity // sessions joined from other agents keep this one alive
	// trust admits other agents' claims; nil admits none.
	trust *peerTrust
	// self names this agent's own sessions: its user's key, its container.
	self peer

	mu      sync.Mutex
	routers map[int]*portRouter
}

// Activity is told when a session joined from another agent begins and
// ends: while one lasts, the agent is in use.
type Activity interface {
	Begin()
	End()
}

// New is the incoming side of the agent whose protocol.AgentIdentity is
// identity, serving the users whose keys are keys (its own sessions are
// named by the first); idle hears of the sessions other agents join.
func New(log *zap.Logger, identity string, keys []ed25519.PublicKey, idle Activity) *Ports {
	t := newPorts(log, &redirects{name: newTableName()}, idle)
	t.trust = newPeerTrust(identity, keys)
	t.self = peer{key: ownKey(keys), agent: agentNameOf(identity)}
	return t
}

func newPorts(log *zap.Logger, rd *redirects, idle Activity) *Ports {
	return &Ports{log: log, rd: rd, idle: idle, routers: map[int]*portRouter{}}
}

// joinAttempts: how often a claim is made while the routing agent changes.
const joinAttempts = 10

// errNotRouted: this agent does not route the port (any more); ask again.
var errNotRouted = errors.New("this agent does not route the port")

// join serves port to s: through this agent's router, a new one if nobody in
// the pod routes the port, or through the agent that does. leave ends it.
func (t *Ports) join(ctx context.Context, port int, s *subscriber) (leave func(), err error) {
	for attempt := 0; ; attempt++ {
		leave, err = t.joinOnce(ctx, port, s)
		// The agent that routed the port ended between our look and our
		// ask; its redirect goes within redirectTTL.
		if !errors.Is(err, errNotRouted) || attempt == joinAttempts {
			return leave, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(redirectTTL / joinAttempts):
		}
	}
}

func (t *Ports) joinOnce(ctx context.Context, port int, s *subscriber) (func(), error) {
	t.mu.Lock()
	r := t.routers[port]
	if r == nil {
		if owner := t.rd.heldElsewhere(port); owner != "" {
			t.mu.Unlock()
			return joinPeer(ctx, t, owner, port, s)
		}
		var err error
		if r, err = t.newRouter(port); err != nil {
			t.mu.Unlock()
			return nil, err
		}
	}
	err := r.add(s)
	t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return func() { t.leave(r, s) }, nil
}

// joinLocal adds s to this agent's router of port, for a session of another
// agent; errNotRouted when there is none.
func (t *Ports) joinLocal(port int, s *subscriber) (func(), error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.routers[port]
	if r == nil {
		return nil, errNotRouted
	}
	if err := r.add(s); err != nil {
		return nil, err
	}
	return func() { t.leave(r, s) }, nil
}

// newRouter listens for port's redirected connections and installs the
// redirect. Precondition: t.mu held.
func (t *Ports) newRouter(port int) (*portRouter, error) {
	// Redirected packets keep the pod's address as destination, so listen on
	// all of them; a connection that did not come through the redirect
	// (another pod dialing this port directly) is refused at accept.
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		return nil, err
	}
	if err := t.rd.add(port, ln.Addr().(*net.TCPAddr).Port); err != nil {
		ln.Close()
		return nil, err
	}
	r := &portRouter{port: port, ln: ln}
	t.routers[port] = r
	t.log.Info("routing port", zap.Int("port", port))
	go r.serve(func(msg string, c net.Conn, port int, err error) {
		t.log.Warn(msg, zap.Stringer("from", c.RemoteAddr()), zap.Int("port", port), zap.Error(err))
	})
	return r, nil
}

// leave takes s out of r; the last one out removes the redirect.
func (t *Ports) leave(r *portRouter, s *subscriber) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !r.remove(s) || t.routers[r.port] != r {
		return
	}
	delete(t.routers, r.port)
	t.rd.remove(r.port, r.ln.Addr().(*net.TCPAddr).Port)
	// Connections redirected before the rule went may still wait in the
	// listener's queue: they are served (by the app) a moment longer.
	time.AfterFunc(drainAfterRemove, func() { r.ln.Close() })
	t.log.Info("port back to the pod's app", zap.Int("port", r.port))
}

// drainAfterRemove is how long a router's listener outlives its redirect.
const drainAfterRemove = time.Second
