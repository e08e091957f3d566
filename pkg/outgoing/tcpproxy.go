package outgoing

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// pendingTTL: a dialed stream whose local connection never arrives (the
// program died between the two) is closed after this long.
const pendingTTL = 30 * time.Second

// tcpProxy is the loopback stand-in for one remote destination. Each
// redirected connect is preceded by a dial from the pod; the local connection
// it produces is paired with that stream when accepted.
type tcpProxy struct {
	dst     netip.AddrPort
	lns     []*net.TCPListener
	port    uint16
	has6    bool
	pending chan *pendingStream
	stats   *Stats
}

type pendingStream struct {
	st    *session.Stream
	taken atomic.Bool
}

func newTCPProxy(dst netip.AddrPort, stats *Stats) (*tcpProxy, error) {
	ln4, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	p := &tcpProxy{dst: dst, lns: []*net.TCPListener{ln4}, pending: make(chan *pendingStream, 4096), stats: stats}
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

// offer hands a stream dialed from the pod to the next local connection.
func (p *tcpProxy) offer(st *session.Stream) {
	ps := &pendingStream{st: st}
	time.AfterFunc(pendingTTL, func() {
		if ps.taken.CompareAndSwap(false, true) {
			st.Close()
		}
	})
	p.pending <- ps
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
	timeout := time.NewTimer(pendingTTL)
	defer timeout.Stop()
	for {
		select {
		case ps := <-p.pending:
			if !ps.taken.CompareAndSwap(false, true) {
				continue // expired
			}
			netpipe.Join(c, ps.st, &p.stats.BytesOut, &p.stats.BytesIn)
			return
		case <-timeout.C:
			c.Close() // nobody dialed for it: not a connection of the program's
			return
		}
	}
}

func (p *tcpProxy) close() {
	for _, ln := range p.lns {
		ln.Close()
	}
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
