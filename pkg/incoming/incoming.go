// Package incoming brings the traffic that reaches the target's ports to the
// local program: when the program listens on a TCP port, the agent in each
// Ready pod of the target (every replica of a workload) is asked to mirror
// (copies, the pod keeps answering) or steal (the program answers; with HTTP
// filters only matching requests) that port, and each connection it hands
// over is made to the program's port.
package incoming

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// Config is what to do with listening ports.
type Config struct {
	Mode    protocol.Mode         // mirror or steal
	Filters []protocol.HTTPFilter // steal only these HTTP requests
	Ports   []int                 // local ports that take part; empty: all
	PortMap map[int]int           // local -> pod port; unmapped ports are the same
	// ProbePaths: the kubelet's HTTP probes by pod port; they always reach
	// the pod's own app.
	ProbePaths map[int][]string
	// Pods sends the names of the pods to serve, the whole set each time it
	// changes: every Ready pod of a workload, or the one named pod.
	Pods <-chan []string
	// Workload: the target is a workload (progress counts its pods).
	Workload bool
	// Takeover takes ports other sessions hold (they are told) instead of
	// being refused.
	Takeover bool
	// MirrorProbes: under mirror, the kubelet's probes are copied too.
	MirrorProbes bool
	// Session names this run to the agents (the same across reconnects);
	// Holder describes it to other users whose steal it refuses.
	Session, Holder string
	// NewSession links to an agent in the pod that may install redirects
	// (NET_ADMIN): it is called the first time a port is served there, and
	// the session calls reconnected after it replaced a dropped link.
	NewSession func(pod string, reconnected func()) (*session.Session, error)
	Progress   func(string)
	Logger     *zap.Logger
}

// Manager follows the program's listening ports and the target's pods.
type Manager struct {
	cfg Config

	mu        sync.Mutex
	pods      map[string]*podLink          // pod name -> its agent link and redirects
	localFor  map[int]int                  // pod port -> local port, while the program listens
	listeners map[int]map[uint64]*listener // pod port -> the program's sockets listening for it
	conns     int
	watching  bool
	done      chan struct{}
	clients   sync.Map // uint16 loopback port of a handed-over connection -> netip.AddrPort client
	taken     sync.Map // uint16 loopback port -> chan struct{} closed when the program accepts it
	fds       sync.Map // fdKey -> uint64 inode: the program's fds that name a listening socket
	// claimDone: a claim's stream -> closed when the agent ended it (a
	// release answered, a takeover, the link gone).
	claimDone map[*session.Stream]chan struct{}
	// pending: pod port -> closed when serving it was asked of every pod.
	pending map[int]chan struct{}

	forwards map[int]Local // guarded by mu: pod port -> where its connections go with no program (Forward)
}

// New returns a manager; nothing is redirected until the program listens.
func New(cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string) {}
	}
	m := &Manager{cfg: cfg, pods: map[string]*podLink{}, localFor: map[int]int{},
		listeners: map[int]map[uint64]*listener{}, done: make(chan struct{}),
		claimDone: map[*session.Stream]chan struct{}{}, pending: map[int]chan struct{}{}}
	if cfg.Pods != nil {
		select {
		case names := <-cfg.Pods: // known already: the first listen finds them
			m.setPods(names)
		default:
		}
		go m.followPods()
	}
	return m
}

// OnListen is called for each listen(): a TCP port that takes part is served
// from the pods, asynchronously (the program's listen is not held).
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
		m.rememberFD(c.PID, c.FD, ino)
	}
	// Wanted now, served asynchronously (the listen is not held): a close
	// right after waits for the serving to be done, then withdraws it.
	if done, ok := m.want(local); ok {
		go m.serve(local, done)
	}
}

// want records that the program listens on local; ok when it was not yet,
// with the channel serve closes.
func (m *Manager) want(local int) (chan struct{}, bool) {
	podPort := m.podPort(local)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, dup := m.localFor[podPort]; dup {
		return nil, false
	}
	m.localFor[podPort] = local
	done := make(chan struct{})
	m.pending[podPort] = done
	return done, true
}

func (m *Manager) takesPart(port int) bool {
	return len(m.cfg.Ports) == 0 || slices.Contains(m.cfg.Ports, port)
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

// serve redirects the pod port local stands for on every pod (want has
// reserved it), then closes done.
func (m *Manager) serve(local int, done chan struct{}) {
	podPort := m.podPort(local)
	defer func() {
		m.mu.Lock()
		if m.pending[podPort] == done {
			delete(m.pending, podPort)
		}
		m.mu.Unlock()
		close(done)
	}()
	m.servePort(podPort, local)
}

// servePort redirects podPort on every pod, then says on how many, and
// returns that count.
func (m *Manager) servePort(podPort, local int) int {
	m.mu.Lock()
	pods := m.podList()
	m.mu.Unlock()
	if len(pods) == 0 {
		m.cfg.Progress(fmt.Sprintf("%s: no Ready pod to serve port %d yet", m.cfg.Mode, podPort))
		return 0
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	served := 0
	for _, pl := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m.redirectOn(pl, podPort, local) {
				mu.Lock()
				served++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if served > 0 {
		m.cfg.Progress(fmt.Sprintf("%s: the pod's port %d -> local port %d%s", m.cfg.Mode, podPort, local, m.onPods(served, len(pods))))
	}
	return served
}

// onPods says on how many pods a port is served, for a workload.
func (m *Manager) onPods(served, of int) string {
	if !m.cfg.Workload {
		return ""
	}
	return fmt.Sprintf(" on %d of %d pods", served, of)
}

// podList is the pods being served. Precondition: m.mu held.
func (m *Manager) podList() []*podLink {
	var out []*podLink
	for _, pl := range m.pods {
		out = append(out, pl)
	}
	return out
}

// redirectOn asks pl's agent to serve podPort; the stream it returns keeps
// the redirect alive.
func (m *Manager) redirectOn(pl *podLink, podPort, local int) bool {
	return m.claim(pl, podPort, local, m.cfg.Takeover, heldRetries)
}

// claim asks pl's agent for podPort (again, tries times, while another
// session holds it) and, when it is served, keeps the claim.
func (m *Manager) claim(pl *podLink, podPort, local int, takeover bool, tries int) bool {
	sess, err := pl.session(m)
	if err != nil {
		m.cfg.Progress(fmt.Sprintf("incoming traffic for %s on pod/%s is off: %v", portNames(podPort, local), pl.name, err))
		return false
	}
	st, err := m.askHeld(sess, podPort, takeover, tries)
	if err != nil {
		if tries > 0 {
			m.cfg.Progress(fmt.Sprintf("incoming traffic for %s on pod/%s is off: %v", portNames(podPort, local), pl.name, err))
		}
		return false
	}
	m.mu.Lock()
	if _, wanted := m.localFor[podPort]; !wanted || pl.closed {
		m.mu.Unlock()
		st.Close() // the program stopped listening, or the pod left, meanwhile
		return false
	}
	if old := pl.serving[podPort]; old != nil {
		old.Close()
	}
	pl.serving[podPort] = st
	ended := make(chan struct{})
	m.claimDone[st] = ended
	m.mu.Unlock()
	go func() {
		defer func() {
			m.mu.Lock()
			delete(m.claimDone, st)
			m.mu.Unlock()
			close(ended)
		}()
		m.watchClaim(pl, podPort, sess, st)
	}()
	m.cfg.Logger.Info("incoming on", zap.String("pod", pl.name), zap.Int("podPort", podPort), zap.Int("local", local), zap.String("mode", string(m.cfg.Mode)))
	return true
}

// watchClaim reports the agent's word that another session took podPort
// over; the claim then ends on that pod.
func (m *Manager) watchClaim(pl *podLink, podPort int, sess *session.Session, st *session.Stream) {
	var resp protocol.Response
	for {
		resp = protocol.Response{} // a frame sets only the fields it holds
		if err := protocol.Read(st, &resp); err != nil {
			return // the claim ended: the program stopped listening, or the link dropped
		}
		if resp.Ask == nil {
			break
		}
		// The agent asks while the claim lasts: to claim the port anew
		// through another agent, or whether to admit another agent's claim.
		if protocol.Write(st, sess.Answer(*resp.Ask)) != nil {
			return
		}
	}
	if resp.Error == "" {
		return
	}
	m.mu.Lock()
	if pl.serving[podPort] == st {
		delete(pl.serving, podPort)
	}
	m.mu.Unlock()
	st.Close()
	m.cfg.Progress(fmt.Sprintf("incoming traffic for port %d on pod/%s is off: %s; it comes back when that session ends", podPort, pl.name, resp.Error))
	go m.reclaim(pl, podPort)
}

// reclaimEvery is how often a session whose port another took over asks for
// it again (never taking it over in turn): it has it back soon after the
// taker leaves.
const reclaimEvery = time.Second

func (m *Manager) reclaim(pl *podLink, podPort int) {
	for {
		select {
		case <-m.done:
			return
		case <-time.After(reclaimEvery):
		}
		m.mu.Lock()
		local, wanted := m.localFor[podPort]
		_, served := pl.serving[podPort]
		closed := pl.closed
		m.mu.Unlock()
		if !wanted || served || closed {
			return
		}
		if m.claim(pl, podPort, local, false, 0) {
			m.cfg.Progress(fmt.Sprintf("%s again: the pod's port %d -> local port %d%s (the session that took it over ended)", m.cfg.Mode, podPort, local, m.podName(pl)))
			return
		}
	}
}

// heldRetries, heldWait: a port held by another session is asked for again
// a few times: the holder may be a session that just ended (a plugin killed
// a moment ago) whose agent has not noticed yet.
const (
	heldRetries = 5
	heldWait    = 2 * time.Second
)

// askHeld asks pl's agent to serve podPort, again while another session
// holds it, for a while.
func (m *Manager) askHeld(sess *session.Session, podPort int, takeover bool, retries int) (*session.Stream, error) {
	req := protocol.Request{Port: podPort, Mode: m.cfg.Mode, Filters: m.cfg.Filters,
		ProbePaths: m.cfg.ProbePaths[podPort], Session: m.cfg.Session, Holder: m.cfg.Holder, Takeover: takeover,
		MirrorProbes: m.cfg.MirrorProbes}
	for attempt := 0; ; attempt++ {
		st, err := sess.Incoming(req)
		var re *session.RemoteError
		if err == nil || !errors.As(err, &re) || re.Errno != unix.EADDRINUSE || attempt >= retries {
			return st, err
		}
		select {
		case <-m.done:
			return nil, err
		case <-time.After(heldWait):
		}
		m.mu.Lock()
		_, wanted := m.localFor[podPort]
		m.mu.Unlock()
		if !wanted {
			return nil, err
		}
	}
}

// reregister asks a new link's agent for every redirect again: the agent of
// the lost link removed them when it noticed the loss.
func (m *Manager) reregister(pl *podLink) {
	m.mu.Lock()
	ports := make(map[int]int, len(m.localFor))
	for p, l := range m.localFor {
		ports[p] = l
	}
	m.mu.Unlock()
	for podPort, local := range ports {
		if m.redirectOn(pl, podPort, local) {
			m.cfg.Progress(fmt.Sprintf("%s again: the pod's port %d -> local port %d%s", m.cfg.Mode, podPort, local, m.podName(pl)))
		}
	}
}

// podName names the pod in progress lines of a workload.
func (m *Manager) podName(pl *podLink) string {
	if !m.cfg.Workload {
		return ""
	}
	return " on pod/" + pl.name
}

// accept takes the connections pl's agent hands over.
func (m *Manager) accept(pl *podLink, sess *session.Session) {
	for {
		st, hdr, err := sess.AcceptIncoming()
		if err != nil {
			if pl.isClosed(m) {
				return
			}
			if errors.Is(err, session.ErrClosed) {
				return
			}
			continue // the link dropped: the next call waits for the new one
		}
		m.mu.Lock()
		local, ok := m.localFor[hdr.Port]
		m.conns++
		m.mu.Unlock()
		if !ok {
			// Given back meanwhile: the agent gives it to the pod's app.
			if hdr.Mode != protocol.ModeMirror {
				_ = protocol.WriteDelivered(st, false)
			}
			st.Close()
			continue
		}
		m.cfg.Logger.Debug("incoming connection", zap.String("pod", pl.name), zap.String("client", hdr.Client), zap.Int("podPort", hdr.Port), zap.Int("local", local))
		go m.deliver(st, hdr, local)
	}
}

// Connections counts the connections handed over so far.
func (m *Manager) Connections() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns
}

// Close ends every redirect (the agents remove their rules) and the sessions.
func (m *Manager) Close() {
	m.mu.Lock()
	select {
	case <-m.done:
	default:
		close(m.done)
	}
	pods := m.podList()
	claims := map[*session.Stream]chan struct{}{}
	for _, pl := range pods {
		for _, st := range pl.serving {
			claims[st] = m.claimDone[st]
		}
	}
	m.mu.Unlock()
	// The pod's app has its ports again before the program's end is told.
	m.release(claims)
	for _, pl := range pods {
		pl.close(m)
	}
}

// portNames names a served port as the program knows it, and as the pod
// does when that differs (--port-map, port-forward -R).
func portNames(podPort, local int) string {
	if podPort == local {
		return fmt.Sprintf("port %d", local)
	}
	return fmt.Sprintf("port %d (the pod's %d)", local, podPort)
}
