// Package incoming brings the traffic that reaches the target pod's ports to
// the local program: when the program listens on a TCP port, the agent is
// asked to mirror (copies, the pod keeps answering) or steal (the program
// answers; with HTTP filters only matching requests) that port of the pod,
// and each connection it hands over is made to the program's port.
package incoming

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// Config is what to do with listening ports.
type Config struct {
	Mode    string                // protocol.ModeMirror or ModeSteal
	Filters []protocol.HTTPFilter // steal only these HTTP requests
	Ports   []int                 // local ports that take part; empty: all
	PortMap map[int]int           // local -> pod port; unmapped ports are the same
	// ProbePaths: the kubelet's HTTP probes by pod port; they always reach
	// the pod's own app.
	ProbePaths map[int][]string
	// Establish links to an agent that may install redirects (NET_ADMIN); it
	// is called on the first listen that takes part, and after a link drops.
	Establish session.Establish
	Progress  func(string)
	Logger    *zap.Logger
}

// Manager follows the program's listening ports.
type Manager struct {
	cfg Config

	mu        sync.Mutex
	sess      *session.Session
	sessErr   error
	serving   map[int]*session.Stream      // pod port -> the request keeping its redirect
	localFor  map[int]int                  // pod port -> local port
	listeners map[int]map[uint64]*listener // pod port -> the program's sockets listening for it
	conns     int
	watching  bool
	done      chan struct{}
	clients   sync.Map // uint16 loopback port of a handed-over connection -> netip.AddrPort client
}

// New returns a manager; nothing happens until the program listens.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string) {}
	}
	return &Manager{cfg: cfg, serving: map[int]*session.Stream{}, localFor: map[int]int{},
		listeners: map[int]map[uint64]*listener{}, done: make(chan struct{})}
}

// OnListen is called for each listen(): a TCP port that takes part is served
// from the pod, asynchronously (the program's listen is not held).
func (m *Manager) OnListen(c *tracer.Call) {
	if typ, err := c.SocketType(); err != nil || typ != unix.SOCK_STREAM {
		return
	}
	addr, err := c.SocketName()
	if err != nil || !m.takesPart(int(addr.Port())) || addr.Addr().Unmap().IsLoopback() {
		return // a loopback-only listener is not meant to be reached from outside
	}
	local := int(addr.Port())
	if ino, err := c.SocketInode(); err == nil {
		m.track(m.podPort(local), ino)
	}
	go m.serve(local)
}

// podPort is the pod's port that local stands for.
func (m *Manager) podPort(local int) int {
	if p, ok := m.cfg.PortMap[local]; ok {
		return p
	}
	return local
}

// track records a socket that listens (or is about to) for podPort, and
// starts following the program's listening sockets.
func (m *Manager) track(podPort int, ino uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.listeners[podPort] == nil {
		m.listeners[podPort] = map[uint64]*listener{}
	}
	if m.listeners[podPort][ino] == nil {
		m.listeners[podPort][ino] = &listener{since: time.Now()}
	}
	if !m.watching {
		m.watching = true
		go m.watchListeners()
	}
}

func (m *Manager) takesPart(port int) bool {
	if len(m.cfg.Ports) == 0 {
		return true
	}
	for _, p := range m.cfg.Ports {
		if p == port {
			return true
		}
	}
	return false
}

func (m *Manager) serve(local int) {
	podPort := m.podPort(local)
	sess, err := m.session()
	if err != nil {
		m.cfg.Progress(fmt.Sprintf("incoming traffic for port %d is off: %v", local, err))
		return
	}
	m.mu.Lock()
	if _, dup := m.localFor[podPort]; dup {
		m.mu.Unlock()
		return
	}
	m.localFor[podPort] = local
	m.mu.Unlock()
	if m.redirect(sess, podPort, local) {
		m.cfg.Progress(fmt.Sprintf("%s: the pod's port %d -> local port %d", m.cfg.Mode, podPort, local))
	}
}

// redirect asks the agent to serve podPort to this session; the stream it
// returns keeps the redirect alive.
func (m *Manager) redirect(sess *session.Session, podPort, local int) bool {
	st, err := sess.Incoming(podPort, m.cfg.Mode, m.cfg.Filters, m.cfg.ProbePaths[podPort])
	if err != nil {
		m.cfg.Progress(fmt.Sprintf("incoming traffic for port %d is off: %v", local, err))
		return false
	}
	m.mu.Lock()
	if _, wanted := m.localFor[podPort]; !wanted {
		m.mu.Unlock()
		st.Close() // the program stopped listening while the agent set it up
		return false
	}
	if old := m.serving[podPort]; old != nil {
		old.Close()
	}
	m.serving[podPort] = st
	m.mu.Unlock()
	m.cfg.Logger.Info("incoming on", zap.Int("podPort", podPort), zap.Int("local", local), zap.String("mode", m.cfg.Mode))
	return true
}

// reregister asks a new link's agent for every redirect again: the agent of
// the lost link removed them when it noticed the loss.
func (m *Manager) reregister() {
	m.mu.Lock()
	sess := m.sess
	ports := make(map[int]int, len(m.localFor))
	for p, l := range m.localFor {
		ports[p] = l
	}
	m.mu.Unlock()
	for podPort, local := range ports {
		if m.redirect(sess, podPort, local) {
			m.cfg.Progress(fmt.Sprintf("%s again: the pod's port %d -> local port %d", m.cfg.Mode, podPort, local))
		}
	}
}

// session connects the capable agent once and starts taking its connections.
func (m *Manager) session() (*session.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil && m.sessErr == nil {
		m.sess, m.sessErr = session.New(context.Background(), m.cfg.Establish, session.Options{
			Progress: m.cfg.Progress, Logger: m.cfg.Logger, Reconnected: m.reregister,
		})
		if m.sessErr == nil {
			go m.accept(m.sess)
		}
	}
	return m.sess, m.sessErr
}

func (m *Manager) accept(sess *session.Session) {
	for {
		st, hdr, err := sess.AcceptIncoming()
		if errors.Is(err, session.ErrClosed) {
			return
		}
		if err != nil {
			continue // the link dropped: the next call waits for the new one
		}
		m.mu.Lock()
		local, ok := m.localFor[hdr.Port]
		m.conns++
		m.mu.Unlock()
		if !ok {
			st.Close()
			continue
		}
		m.cfg.Logger.Debug("incoming connection", zap.String("client", hdr.Client), zap.Int("podPort", hdr.Port), zap.Int("local", local))
		go m.deliver(st, hdr, local)
	}
}

// deliver makes the handed-over connection to the program's port, from a
// port the program's accept reports as the pod's client. For a mirror the
// program's answers are read and dropped: the pod's app answered.
func (m *Manager) deliver(st *session.Stream, hdr protocol.IncomingConn, local int) {
	defer st.Close()
	client, err := netip.ParseAddrPort(hdr.Client)
	if err != nil {
		return
	}
	tc, forget, err := m.dialProgram(local, netip.AddrPortFrom(client.Addr().Unmap(), client.Port()))
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

// Connections counts the connections handed over so far.
func (m *Manager) Connections() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns
}

// Close ends every redirect (the agent removes its rules) and the session.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.done:
	default:
		close(m.done)
	}
	for _, st := range m.serving {
		st.Close()
	}
	if m.sess != nil {
		m.sess.Close()
	}
}
