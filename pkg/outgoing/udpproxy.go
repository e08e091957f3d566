package outgoing

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// udpProxy is the loopback stand-in for one remote UDP destination: each
// program socket that sends to it (by source address) gets a flow, an smux
// stream to a UDP socket the agent connects to the destination. Only the
// program's sockets, registered by the tracer with their inode before they
// send, are served; datagrams from any other socket are dropped, and a
// registration ends with its socket (a port the program let go may be
// bound by someone else).
type udpProxy struct {
	dst   netip.AddrPort
	conns []*net.UDPConn
	port  uint16
	has6  bool
	open  func(netip.AddrPort) (*session.Stream, error)
	stats *Stats
	log   *zap.Logger
	done  chan struct{}

	mu      sync.Mutex
	flows   map[netip.AddrPort]*udpFlow
	allowed map[netip.AddrPort]registration // program socket address -> its socket
	queries dnsQueries                      // DNS queries still waiting for an answer

	tablesOnly bool // find sockets in the tables, as where the kernel refuses sock_diag
}

// registration is a program socket allowed to send through the proxy.
type registration struct {
	ino    uint64    // the socket's inode
	at     time.Time // when the tracer registered it
	missed bool      // the last sweep's table read did not find the socket
}

// sweepEvery is how often registrations of closed program sockets end.
const sweepEvery = 300 * time.Millisecond

func newUDPProxy(dst netip.AddrPort, open func(netip.AddrPort) (*session.Stream, error), stats *Stats, log *zap.Logger) (*udpProxy, error) {
	c4, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	p := &udpProxy{dst: dst, conns: []*net.UDPConn{c4}, open: open, stats: stats, log: log, done: make(chan struct{}),
		flows: map[netip.AddrPort]*udpFlow{}, allowed: map[netip.AddrPort]registration{}, queries: dnsQueries{}}
	p.port = uint16(c4.LocalAddr().(*net.UDPAddr).Port)
	if c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback, Port: int(p.port)}); err == nil {
		p.conns, p.has6 = append(p.conns, c6), true
	}
	for _, c := range p.conns {
		go p.serve(c)
	}
	go p.sweep()
	return p, nil
}

func (p *udpProxy) local(family uint16) netip.AddrPort {
	return localAddr(family, p.port, p.has6, p.dst)
}

// allow registers a program socket (its address and inode) before it sends.
func (p *udpProxy) allow(src netip.AddrPort, ino uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allowed[unmap(src)] = registration{ino: ino, at: time.Now()}
}

// known says whether src is a registered program socket. A new flow is only
// opened once the socket bound at src is checked to be the registered one,
// and so is a flow whose socket a table read last missed.
func (p *udpProxy) known(src netip.AddrPort) bool {
	p.mu.Lock()
	reg, ok := p.allowed[src]
	_, flowing := p.flows[src]
	p.mu.Unlock()
	if !ok {
		return false
	}
	if flowing && !reg.missed {
		return true
	}
	ino, exact := p.lookup().inode(src)
	if ino == 0 && !exact {
		ino, _ = p.lookup().inode(src) // a table read can skip a live socket: read once more
	}
	return ino == reg.ino
}

func (p *udpProxy) lookup() *udpSocketLookup {
	if p.tablesOnly {
		return &udpSocketLookup{proxyPort: p.port, table: udpSockets()}
	}
	return &udpSocketLookup{proxyPort: p.port}
}

// sweep ends the registrations, and flows, of program sockets that are gone.
func (p *udpProxy) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-t.C:
		}
		p.mu.Lock()
		empty := len(p.allowed) == 0
		p.stats.DNSUnanswered.Add(int64(p.queries.expire(time.Now().Add(-dnsAnswerWait))))
		p.mu.Unlock()
		if empty {
			continue
		}
		p.sweepRegistrations()
	}
}

// sweepRegistrations ends the registrations whose socket closed or is
// another's now. An exact lookup that finds no socket ends one at once; a
// table read that misses it marks it, and ends it only if the next sweep
// misses it too (a live socket's row can slip past one read).
func (p *udpProxy) sweepRegistrations() {
	// A socket registered after this look may not be in it yet: a port
	// the program closed and bound again meanwhile is its.
	looked := time.Now()
	p.mu.Lock()
	regs := make(map[netip.AddrPort]registration, len(p.allowed))
	for src, reg := range p.allowed {
		if reg.at.Before(looked) {
			regs[src] = reg
		}
	}
	p.mu.Unlock()
	l := p.lookup()
	found := make(map[netip.AddrPort]registration, len(regs)) // ino and whether it is a table's miss
	for src := range regs {
		ino, exact := l.inode(src)
		found[src] = registration{ino: ino, missed: ino == 0 && !exact}
	}
	var ended []*udpFlow
	p.mu.Lock()
	for src, was := range regs {
		reg, ok := p.allowed[src]
		if !ok || reg != was {
			continue // registered again, or swept, meanwhile
		}
		switch f := found[src]; {
		case f.ino == reg.ino || (f.missed && !reg.missed):
			reg.missed = f.missed
			p.allowed[src] = reg
		default:
			delete(p.allowed, src)
			if f := p.flows[src]; f != nil {
				ended = append(ended, f)
				delete(p.flows, src)
			}
		}
	}
	p.mu.Unlock()
	for _, f := range ended {
		f.close()
	}
}

// serve reads the program's datagrams and sends each on its flow.
func (p *udpProxy) serve(c *net.UDPConn) {
	buf := make([]byte, protocol.MaxDatagram)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		src = unmap(src)
		if !p.known(src) {
			p.stats.Strangers.Add(1)
			p.log.Debug("dropped a datagram that is not the program's", zap.Stringer("from", src), zap.Stringer("proxy", p.dst))
			continue
		}
		if p.dst.Port() == 53 {
			// Timed from the program's send: an answer that comes after
			// the resolver gave up (a link down meanwhile) is lost too.
			p.stats.DNSQueries.Add(1)
			p.mu.Lock()
			p.queries.sent(src, buf[:n], time.Now())
			p.mu.Unlock()
		}
		p.flow(c, src).send(buf[:n])
	}
}

// flow returns the flow of the program socket at src, starting it on the
// first datagram. Its stream opens in the background: while the link to the
// agent is down, the program's other sockets are still read (and their DNS
// queries timed from their send).
func (p *udpProxy) flow(c *net.UDPConn, src netip.AddrPort) *udpFlow {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.flows[src]; ok {
		return f
	}
	f := &udpFlow{out: make(chan []byte, flowQueue), done: make(chan struct{})}
	p.flows[src] = f
	go p.run(c, src, f)
	return f
}

// run opens f's stream, then sends what the program sends and hands back
// what the pod answers, until the stream or the flow ends.
func (p *udpProxy) run(c *net.UDPConn, src netip.AddrPort, f *udpFlow) {
	defer p.drop(src, f)
	st, err := p.open(p.dst)
	if err != nil {
		return // no route from the pod: what was sent is lost, as UDP allows
	}
	p.stats.UDPFlows.Add(1)
	defer st.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case b := <-f.out:
				p.stats.Datagrams.Add(1)
				if protocol.WriteDatagram(st, b) != nil {
					st.Close()
					return
				}
			case <-f.done:
				st.Close()
				return
			case <-stop:
				return
			}
		}
	}()
	buf := make([]byte, protocol.MaxDatagram)
	for {
		n, err := protocol.ReadDatagram(st, buf)
		if err != nil {
			return
		}
		if p.dst.Port() == 53 {
			p.mu.Lock()
			p.queries.answered(src, buf[:n])
			p.mu.Unlock()
		}
		if _, err := c.WriteToUDPAddrPort(buf[:n], src); err != nil {
			return
		}
	}
}

func (p *udpProxy) drop(src netip.AddrPort, f *udpFlow) {
	p.mu.Lock()
	if p.flows[src] == f {
		delete(p.flows, src)
	}
	p.mu.Unlock()
	f.close()
}

func (p *udpProxy) close() {
	close(p.done)
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.flows {
		f.close()
	}
}

// settle counts the queries the program gave up on (it ended while they
// waited, after a while) as lost.
func (p *udpProxy) settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.DNSUnanswered.Add(int64(p.queries.expire(time.Now().Add(-dnsGaveUp))))
}
