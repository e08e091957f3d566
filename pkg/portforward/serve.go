package portforward

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
)

// Dialer reaches host:port from the pod (a session with the agent).
type Dialer interface {
	DialHost(hostport string, timeout time.Duration) (netpipe.HalfCloser, error)
	// UDPHost opens a flow of framed datagrams (protocol.WriteDatagram).
	UDPHost(hostport string) (io.ReadWriteCloser, error)
}

// Stats counts what went through one forward: connections (UDP: flows)
// made and not made, and bytes; in is toward this machine.
type Stats struct {
	Connections, Failed atomic.Int64
	BytesOut, BytesIn   atomic.Int64
}

// Socket is one -L's local end: a TCP listener or a UDP socket.
type Socket struct {
	ln net.Listener
	pc *net.UDPConn
}

// Addr is where the socket listens.
func (s Socket) Addr() net.Addr {
	if s.pc != nil {
		return s.pc.LocalAddr()
	}
	return s.ln.Addr()
}

// Close stops taking connections or datagrams.
func (s Socket) Close() error {
	if s.pc != nil {
		return s.pc.Close()
	}
	return s.ln.Close()
}

// Listen opens every forward's local socket, so a port in use is reported
// before anything is served.
func Listen(fwds []Forward) ([]Socket, error) {
	var socks []Socket
	for _, f := range fwds {
		var s Socket
		var err error
		if f.UDP {
			s.pc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(f.Local))
		} else {
			s.ln, err = net.Listen("tcp", f.Local.String())
		}
		if err != nil {
			for _, o := range socks {
				o.Close()
			}
			return nil, fmt.Errorf("-L %s: %w", f, err)
		}
		socks = append(socks, s)
	}
	return socks, nil
}

// Serve serves each socket until ctx ends: a TCP connection is dialed from
// the pod, a UDP source's datagrams go through a flow of its own; a failure
// closes the local connection (drops the datagram) and is reported through
// report. It returns when every connection has ended.
func Serve(ctx context.Context, d Dialer, fwds []Forward, socks []Socket, dialTimeout time.Duration, report func(string), stats []*Stats) {
	var wg sync.WaitGroup
	conns := &openConns{m: map[io.Closer]bool{}} // both ends of open connections, closed when ctx ends
	for i, s := range socks {
		f, st := fwds[i], stats[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.pc != nil {
				serveUDP(d, f, s.pc, report, st)
				return
			}
			for {
				c, err := s.ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer conns.add(c)()
					forward(d, f, c.(*net.TCPConn), dialTimeout, report, st, conns)
				}()
			}
		}()
	}
	<-ctx.Done()
	for _, s := range socks {
		s.Close()
	}
	// Both ends of each connection: a stalled one (a side that stopped
	// reading) would otherwise hold the copy, and the exit, for ever.
	conns.closeAll()
	wg.Wait()
}

// openConns is the ends of open connections; once closeAll has run, one
// added is closed at once (a dial that ended after Serve's end).
type openConns struct {
	mu     sync.Mutex
	m      map[io.Closer]bool
	closed bool
}

// add holds c until the returned func forgets it.
func (o *openConns) add(c io.Closer) func() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		c.Close()
	} else {
		o.m[c] = true
	}
	return func() {
		o.mu.Lock()
		delete(o.m, c)
		o.mu.Unlock()
	}
}

func (o *openConns) closeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	for c := range o.m {
		c.Close()
	}
}

// forward joins c to a stream the pod dials; open holds both ends while
// they are joined, for Serve to close at the end.
func forward(d Dialer, f Forward, c *net.TCPConn, timeout time.Duration, report func(string), st *Stats, open *openConns) {
	up, err := d.DialHost(f.Remote(), timeout)
	if err != nil {
		st.Failed.Add(1)
		report(fmt.Sprintf("-L %s: %v", f, err))
		c.Close()
		return
	}
	defer open.add(up)()
	st.Connections.Add(1)
	netpipe.Join(up, c, &st.BytesIn, &st.BytesOut) // pod to here is in
}
