package portforward

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
)

// Dialer dials host:port from the pod (a session with the agent).
type Dialer interface {
	DialHost(hostport string, timeout time.Duration) (netpipe.HalfCloser, error)
}

// Stats counts what went through the forwards.
type Stats struct {
	Connections, Failed atomic.Int64
	BytesOut, BytesIn   atomic.Int64
}

// Listen opens every forward's local listener, so a port in use is reported
// before anything is served.
func Listen(fwds []Forward) ([]net.Listener, error) {
	var lns []net.Listener
	for _, f := range fwds {
		ln, err := net.Listen("tcp", f.Local.String())
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("-L %s: %w", f, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// Serve accepts on each listener until ctx ends, dialing each connection's
// forward from the pod; a failed dial closes the local connection and is
// reported through report. It returns when every connection has ended.
func Serve(ctx context.Context, d Dialer, fwds []Forward, lns []net.Listener, dialTimeout time.Duration, report func(string), st *Stats) {
	var wg sync.WaitGroup
	conns := sync.Map{} // open local connections, closed when ctx ends
	for i, ln := range lns {
		f := fwds[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					conns.Store(c, true)
					defer conns.Delete(c)
					forward(d, f, c.(*net.TCPConn), dialTimeout, report, st)
				}()
			}
		}()
	}
	<-ctx.Done()
	for _, ln := range lns {
		ln.Close()
	}
	conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
	wg.Wait()
}

func forward(d Dialer, f Forward, c *net.TCPConn, timeout time.Duration, report func(string), st *Stats) {
	up, err := d.DialHost(f.Remote(), timeout)
	if err != nil {
		st.Failed.Add(1)
		report(fmt.Sprintf("%s: %v", f, err))
		c.Close()
		return
	}
	st.Connections.Add(1)
	netpipe.Join(up, c, &st.BytesIn, &st.BytesOut) // pod to here is in
}
