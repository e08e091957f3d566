package outgoing

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// pendingTTL: a dialed stream whose local connection never arrives (the
// program died between the two) is closed after this long.
const pendingTTL = 30 * time.Second

// tcpProxy is the loopback stand-in for one remote destination. Each
// redirected connect is preceded by a dial from the pod; the stream is kept
// for the program's socket by its source address, known before it connects,
// and handed only to a connection from exactly that address. Any other
// local process that connects here gets nothing and is closed.
type tcpProxy struct {
	dst   netip.AddrPort
	lns   []*net.TCPListener
	port  uint16
	has6  bool
	stats *Stats
	log   *zap.Logger
	ended func(src netip.AddrPort, st *session.Stream) // the connection from src on st is over (or never came)

	mu      sync.Mutex
	pending map[netip.AddrPort]*session.Stream // by the program socket's address
}

func newTCPProxy(dst netip.AddrPort, stats *Stats, log *zap.Logger, ended func(netip.AddrPort, *session.Stream)) (*tcpProxy, error) {
	ln4, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{dst: dst, lns: []*net.TCPListener{ln4}, pending: map[netip.AddrPort]*session.Stream{}, stats: stats, log: log, ended: ended}
	p.port = uint16(ln4.Addr().(*net.TCPAddr).Port)
	if ln6, err := net.ListenTCP("tcp6", &net.TCPAddr{IP: net.IPv6loopback, Port: int(p.port)}); err == nil {
		p.lns, p.has6 = append(p.lns, ln6), true
	}
	for _, ln := range p.lns {
		go p.accept(ln)
	}
	return p, nil
}

// local is where a socket of the given family is redirected.
func (p *tcpProxy) local(family uint16) netip.AddrPort {
	return localAddr(family, p.port, p.has6, p.dst)
}

// offer keeps a stream dialed from the pod for the connection that will come
// from src, the program's socket.
func (p *tcpProxy) offer(src netip.AddrPort, st *session.Stream) {
	src = unmap(src)
	p.mu.Lock()
	if old := p.pending[src]; old != nil {
		old.Close() // the socket's earlier connect never arrived
	}
	p.pending[src] = st
	p.mu.Unlock()
	time.AfterFunc(pendingTTL, func() {
		if p.take(src, st) {
			st.Close()
			p.ended(src, st)
		}
	})
}

// take removes src's stream if it is still st.
func (p *tcpProxy) take(src netip.AddrPort, st *session.Stream) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending[src] != st {
		return false
	}
	delete(p.pending, src)
	return true
}

func (p *tcpProxy) accept(ln *net.TCPListener) {
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			return
		}
		go p.serve(c)
	}
}

func (p *tcpProxy) serve(c *net.TCPConn) {
	src := unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort())
	p.mu.Lock()
	st := p.pending[src]
	delete(p.pending, src)
	p.mu.Unlock()
	if st == nil {
		// Not the program's socket: another process or user found the port.
		p.stats.Strangers.Add(1)
		p.log.Debug("refused a local connection that is not the program's", zap.Stringer("from", src), zap.Stringer("proxy", p.dst))
		_ = c.SetLinger(0)
		c.Close()
		return
	}
	netpipe.Join(c, st, &p.stats.BytesOut, &p.stats.BytesIn)
	p.ended(src, st)
}

func (p *tcpProxy) close() {
	for _, ln := range p.lns {
		ln.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for src, st := range p.pending {
		st.Close()
		delete(p.pending, src)
	}
}

// expectedSource is the address the program's connection to local will come
// from: its bound address, or, when bound to a wildcard, the loopback address
// the kernel picks to reach local.
func expectedSource(bound, local netip.AddrPort) netip.AddrPort {
	if bound.Addr().Unmap().IsUnspecified() {
		return netip.AddrPortFrom(local.Addr().Unmap(), bound.Port())
	}
	return unmap(bound)
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// localAddr picks the loopback address a redirected socket connects to: ::1
// for an IPv6 destination on an AF_INET6 socket when we listen there, else
// 127.0.0.1 (IPv4-mapped on AF_INET6 sockets, as the program would write it).
func localAddr(family uint16, port uint16, has6 bool, dst netip.AddrPort) netip.AddrPort {
	if family == afInet6 && has6 && !dst.Addr().Is4() && !dst.Addr().Is4In6() {
		return netip.AddrPortFrom(netip.IPv6Loopback(), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
}
