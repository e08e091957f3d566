package outgoing

import (
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

const afInet6 = unix.AF_INET6

// Remote is what the handler needs from a session with the agent.
type Remote interface {
	Dial(addr netip.AddrPort, timeout time.Duration) (*session.Stream, error)
	UDP(addr netip.AddrPort) (*session.Stream, error)
}

// Config configures the outgoing side of a session.
type Config struct {
	Rules       Rules
	DialTimeout time.Duration // how long the pod tries to connect (0: 30 s)
	Logger      *zap.Logger
}

// Handler redirects the program's socket calls: connect, sendto and sendmsg
// to remote destinations go to loopback proxies, and the addresses the
// program reads back (getpeername, recvfrom, recvmsg) are the original ones.
type Handler struct {
	remote Remote
	cfg    Config
	log    *zap.Logger
	Stats  Stats

	// podLocal: a program socket's loopback port -> the pod-side local
	// address of its connection, while the connection lives.
	podLocal sync.Map
	// parkFailed: a parked socket's inode -> the errno of the pod's failed
	// dial, which the kernel reports as ECONNRESET (park.go's abort).
	parkFailed sync.Map

	mu     sync.Mutex
	tcp    map[netip.AddrPort]*tcpProxy
	udp    map[netip.AddrPort]*udpProxy
	parks  map[netip.AddrPort]*park
	byPort map[uint16]netip.AddrPort // proxy port -> original destination
}

// New returns a handler that carries traffic through remote.
func New(remote Remote, cfg Config) *Handler {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 30 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Handler{remote: remote, cfg: cfg, log: log,
		tcp: map[netip.AddrPort]*tcpProxy{}, udp: map[netip.AddrPort]*udpProxy{}, parks: map[netip.AddrPort]*park{}, byPort: map[uint16]netip.AddrPort{}}
}

// Socket decides a socket call; see Handler.
func (h *Handler) Socket(c *tracer.Call) tracer.Verdict {
	switch c.Syscall {
	case tracer.SysConnect:
		return h.connect(c)
	case tracer.SysSendto, tracer.SysSendmsg:
		if dst, ok := h.remoteDst(c); ok {
			return h.toUDPProxy(c, dst)
		}
	case tracer.SysGetpeername, tracer.SysRecvfrom, tracer.SysRecvmsg:
		return tracer.Allow().AtExit(h.RestorePeer)
	case tracer.SysGetsockname:
		return tracer.Allow().AtExit(h.restoreLocal)
	case tracer.SysGetsockopt: // SO_ERROR only (the filter's check)
		return h.parkedErrno(c)
	}
	return tracer.Allow()
}

// Path lets every path call through: files are another handler's business.
func (h *Handler) Path(*tracer.Call) tracer.Verdict { return tracer.Allow() }

func (h *Handler) remoteDst(c *tracer.Call) (netip.AddrPort, bool) {
	if !c.HasAddr {
		return netip.AddrPort{}, false
	}
	dst := netip.AddrPortFrom(c.Addr.Addr().Unmap().WithZone(""), c.Addr.Port())
	return dst, h.cfg.Rules.IsRemote(dst)
}

func (h *Handler) connect(c *tracer.Call) tracer.Verdict {
	dst, ok := h.remoteDst(c)
	if !ok {
		return tracer.Allow()
	}
	typ, err := c.SocketType()
	if err != nil {
		return tracer.Allow()
	}
	switch typ {
	case unix.SOCK_STREAM:
		// The socket's port is fixed now, so the proxy can tell the program's
		// connection from any other process's.
		bound, err := c.EnsureBound()
		if err != nil {
			return tracer.Fail(tracer.ErrnoOr(err, unix.EADDRNOTAVAIL))
		}
		// The pod dials first: the program's connect returns only once it is
		// known whether the pod could connect, and fails as the pod's would,
		// or it is parked (park.go), at once when it is non-blocking.
		sock, err := c.DupSocket()
		if err != nil {
			sock = -1 // no parking: the connect waits for the dial
		}
		go h.connectTCP(c, dst, bound, sock)
		return tracer.Hold()
	case unix.SOCK_DGRAM:
		return h.toUDPProxy(c, dst)
	}
	return tracer.Allow()
}

// parkedErrno shows a parked socket's failure as the pod's errno where the
// kernel says ECONNRESET (getsockopt SO_ERROR after a non-blocking connect).
func (h *Handler) parkedErrno(c *tracer.Call) tracer.Verdict {
	empty := true
	h.parkFailed.Range(func(any, any) bool { empty = false; return false })
	if empty {
		return tracer.Allow()
	}
	ino, err := c.SocketInode()
	if err != nil {
		return tracer.Allow()
	}
	errno, ok := h.parkFailed.Load(ino)
	if !ok {
		return tracer.Allow()
	}
	return tracer.Allow().AtExit(func(e *tracer.Exit) {
		if v, ok := e.SockoptInt(); ok && v == int32(unix.ECONNRESET) {
			e.SetSockoptInt(int32(errno.(unix.Errno)))
		}
	})
}

func (h *Handler) connectTCP(c *tracer.Call, dst, bound netip.AddrPort, sock int) {
	if dst.Port() == 53 {
		h.Stats.DNSQueries.Add(1)
	}
	done := make(chan dialed, 1)
	go func() {
		st, err := h.remote.Dial(dst, h.cfg.DialTimeout)
		done <- dialed{st, err}
	}()
	if sock < 0 {
		d := <-done
		h.connected(c, dst, bound, d.st, d.err)
		return
	}
	wait := parkAfter
	if fl, err := unix.FcntlInt(uintptr(sock), unix.F_GETFL, 0); err == nil && fl&unix.O_NONBLOCK != 0 {
		wait = 0 // its own timer starts when connect returns: return now
	}
	select {
	case d := <-done:
		unix.Close(sock)
		h.connected(c, dst, bound, d.st, d.err)
	case <-time.After(wait):
		h.parkConnect(c, dst, bound, done, sock)
	}
}

// dialed is the pod's dial's outcome.
type dialed struct {
	st  *session.Stream
	err error
}

// parkConnect lets a slow dial's connect go on in the kernel (park.go), so
// the program's own timeout can end it, and finishes it when the dial ends.
// sock is a copy of the program's socket, closed here as soon as it is no
// longer needed: while it is open the program's close does not end the
// connection.
func (h *Handler) parkConnect(c *tracer.Call, dst, bound netip.AddrPort, done <-chan dialed, sock int) {
	var st unix.Stat_t
	pk, err := h.park(dst)
	if err == nil {
		err = unix.Fstat(sock, &st)
	}
	if err != nil { // no parking here: the connect waits for the dial, as before
		unix.Close(sock)
		d := <-done
		h.connected(c, dst, bound, d.st, d.err)
		return
	}
	ino := st.Ino
	c.Resume(tracer.Redirect(localAddr(c.SockFamily, pk.addr.Port(), false, dst)).AtExit(func(e *tracer.Exit) {
		// A blocking connect returns EPIPE when aborted.
		if errno, ok := h.parkFailed.Load(ino); ok && e.Result == -int64(unix.EPIPE) {
			e.SetResult(-int64(errno.(unix.Errno)))
		}
	}))
	h.Stats.Parked.Add(1)
	d := <-done
	h.Stats.Parked.Add(-1)
	waitSent(sock, time.Second)
	if d.err == nil {
		unix.Close(sock)
	}
	if d.err != nil {
		h.log.Debug("connect from the pod failed (parked)", zap.Int("pid", c.PID), zap.Stringer("dst", dst), zap.Error(d.err))
		h.Stats.Refused.Add(1)
		errno := dialErrno(d.err)
		h.parkFailed.Store(ino, errno)
		time.AfterFunc(pendingTTL, func() { h.parkFailed.CompareAndDelete(ino, errno) })
		if err := abort(sock); err != nil {
			h.log.Debug("abort a parked connect", zap.Error(err))
		}
		unix.Close(sock)
		return
	}
	h.Stats.Connections.Add(1)
	src := expectedSource(bound, pk.addr)
	if d.st.Local.IsValid() {
		h.podLocal.Store(src.Port(), d.st.Local)
	}
	if err := pk.join(src, d.st, &h.Stats); err != nil {
		h.log.Debug("join a parked connect", zap.Stringer("dst", dst), zap.Error(err))
		d.st.Close() // the program gave up (its timeout) or closed the socket
	}
	h.podLocal.CompareAndDelete(src.Port(), d.st.Local)
}

// connected finishes a connect whose dial ended before parkAfter: the
// program's socket goes to the destination's proxy, or fails as the pod's
// dial did.
func (h *Handler) connected(c *tracer.Call, dst, bound netip.AddrPort, st *session.Stream, err error) {
	if err != nil {
		h.log.Debug("connect from the pod failed", zap.Int("pid", c.PID), zap.Stringer("dst", dst), zap.Error(err))
		h.Stats.Refused.Add(1)
		c.Resume(tracer.Fail(dialErrno(err)))
		return
	}
	p, err := h.tcpProxy(dst)
	if err != nil {
		st.Close()
		c.Resume(tracer.Fail(unix.ENOBUFS))
		return
	}
	h.Stats.Connections.Add(1)
	local := p.local(c.SockFamily)
	h.log.Debug("connect through the pod", zap.Int("pid", c.PID), zap.Stringer("dst", dst), zap.Uint16("proxy", p.port))
	src := expectedSource(bound, local)
	if st.Local.IsValid() {
		h.podLocal.Store(src.Port(), st.Local)
	}
	p.offer(src, st)
	c.Resume(tracer.Redirect(local))
}

// dialErrno is the errno the program gets for a failed remote dial: the
// pod's, or no route to the pod when the session itself failed.
func dialErrno(err error) unix.Errno { return session.RemoteErrno(err, unix.ENETUNREACH) }

func (h *Handler) toUDPProxy(c *tracer.Call, dst netip.AddrPort) tracer.Verdict {
	bound, err := c.EnsureBound()
	if err != nil {
		return tracer.Fail(tracer.ErrnoOr(err, unix.EADDRNOTAVAIL))
	}
	ino, err := c.SocketInode()
	if err != nil {
		return tracer.Fail(tracer.ErrnoOr(err, unix.EBADF))
	}
	p, err := h.udpProxy(dst)
	if err != nil {
		h.log.Warn("udp proxy", zap.Stringer("dst", dst), zap.Error(err))
		return tracer.Fail(unix.ENOBUFS)
	}
	local := p.local(c.SockFamily)
	p.allow(expectedSource(bound, local), ino)
	h.log.Debug("datagrams through the pod", zap.Stringer("dst", dst), zap.Uint16("proxy", p.port))
	return tracer.Redirect(local)
}

// restoreLocal shows the program the pod-side address of a connection
// through the pod, where the kernel reports its loopback end.
func (h *Handler) restoreLocal(e *tracer.Exit) {
	got, ok := e.ResultAddr()
	if !ok || !got.Addr().Unmap().IsLoopback() {
		return
	}
	if pod, ok := h.podLocal.Load(got.Port()); ok {
		e.SetResultAddr(pod.(netip.AddrPort))
	}
}

// RestorePeer shows the program the destination it asked for, where the
// kernel reports one of our proxies (an AtExit fix-up).
func (h *Handler) RestorePeer(e *tracer.Exit) {
	got, ok := e.ResultAddr()
	if !ok || !got.Addr().Unmap().IsLoopback() {
		return
	}
	h.mu.Lock()
	orig, ok := h.byPort[got.Port()]
	h.mu.Unlock()
	if ok {
		e.SetResultAddr(orig)
	}
}

func (h *Handler) tcpProxy(dst netip.AddrPort) (*tcpProxy, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.tcp[dst]; ok {
		return p, nil
	}
	// A TCP and a UDP proxy may get the same port number; the reverse map must
	// stay unambiguous, so take another.
	for {
		p, err := newTCPProxy(dst, &h.Stats, h.log, func(src netip.AddrPort, st *session.Stream) { h.podLocal.CompareAndDelete(src.Port(), st.Local) })
		if err != nil {
			return nil, err
		}
		if _, taken := h.byPort[p.port]; taken {
			defer p.close()
			continue
		}
		h.tcp[dst], h.byPort[p.port] = p, dst
		return p, nil
	}
}

// park is the destination's park (park.go), shared by its parked connects;
// getpeername on a joined socket names the destination by its port.
func (h *Handler) park(dst netip.AddrPort) (*park, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if pk, ok := h.parks[dst]; ok {
		return pk, nil
	}
	for {
		pk, err := newPark()
		if err != nil {
			return nil, err
		}
		if _, taken := h.byPort[pk.addr.Port()]; taken {
			defer pk.close()
			continue
		}
		h.parks[dst], h.byPort[pk.addr.Port()] = pk, dst
		return pk, nil
	}
}

func (h *Handler) udpProxy(dst netip.AddrPort) (*udpProxy, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.udp[dst]; ok {
		return p, nil
	}
	for {
		p, err := newUDPProxy(dst, h.remote.UDP, &h.Stats, h.log)
		if err != nil {
			return nil, err
		}
		if _, taken := h.byPort[p.port]; taken {
			defer p.close()
			continue
		}
		h.udp[dst], h.byPort[p.port] = p, dst
		return p, nil
	}
}

// Settle makes the counts final when the program has ended: DNS queries
// still waiting then count as unanswered.
func (h *Handler) Settle() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.udp {
		p.settle()
	}
}

// Close stops every proxy.
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.tcp {
		p.close()
	}
	for _, p := range h.udp {
		p.close()
	}
	for _, pk := range h.parks {
		pk.close()
	}
}
