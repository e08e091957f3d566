package incoming

import (
	"io"
	"net"
	"strconv"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// serve hands each redirected connection to its sessions until ln closes.
func (r *portRouter) serve(log func(msg string, c net.Conn, port int, err error)) {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if port, err := originalPort(c); err != nil || port != r.port {
			log("refused a connection that did not come through the redirect", c, port, err)
			c.Close()
			continue
		}
		subs := r.current()
		if len(subs) == 0 {
			// The port was given back while this connection was on its
			// way: the pod's app serves it.
			go incomingConn{router: r, client: c, port: r.port}.toAppWhole()
			continue
		}
		in := incomingConn{router: r, client: c, port: r.port, probes: subs[0].probes}
		go in.serve(subs)
	}
}

// incomingConn is one redirected connection of a port's router.
type incomingConn struct {
	router *portRouter
	client net.Conn
	port   int
	probes []string // the kubelet's HTTP probe paths on this port
}

// serve hands the connection to subs, the port's sessions when it came.
func (in incomingConn) serve(subs []*subscriber) {
	defer in.client.Close()
	switch {
	case subs[0].mode == protocol.ModeMirror:
		in.mirror(subs)
	case len(subs[0].filters) > 0:
		in.stealFiltered()
	case len(in.probes) > 0:
		in.stealExceptProbes(subs[0])
	default:
		up, err := in.toPluginOrApp(subs[0])
		if err != nil {
			return
		}
		netpipe.Join(up, in.client.(*net.TCPConn), nil, nil)
	}
}

// toAppWhole gives the whole connection to the pod's app.
func (in incomingConn) toAppWhole() {
	defer in.client.Close()
	app, err := in.toApp()
	if err != nil {
		return
	}
	netpipe.Join(app.(*net.TCPConn), in.client.(*net.TCPConn), nil, nil)
}

// toPluginOrApp is s's program, or the pod's app when the program did not
// take the connection (it stopped listening, its session went): a port
// given back never drops a connection that was not yet delivered.
func (in incomingConn) toPluginOrApp(s *subscriber) (netpipe.HalfCloser, error) {
	st, err := in.toPlugin(s)
	if err == nil {
		return st, nil
	}
	app, err := in.toApp()
	if err != nil {
		return nil, err
	}
	return app.(*net.TCPConn), nil
}

// toPlugin opens a connection to s's program for this client.
func (in incomingConn) toPlugin(s *subscriber) (netpipe.HalfCloser, error) {
	return s.open(protocol.IncomingConn{Port: in.port, Client: in.client.RemoteAddr().String(), Mode: s.mode})
}

// toApp connects to the pod's own app, as the pod itself: traffic the pod
// makes to its own address does not pass the prerouting redirect.
func (in incomingConn) toApp() (net.Conn, error) {
	local := in.client.LocalAddr().(*net.TCPAddr)
	return net.Dial("tcp", net.JoinHostPort(local.IP.String(), strconv.Itoa(in.port)))
}

// mirror serves the client from the app and copies what the client sends to
// every mirror session. A slow local program loses its copy, never the
// client's data.
func (in incomingConn) mirror(subs []*subscriber) {
	var client io.Reader = in.client
	if len(in.probes) > 0 {
		subs, client = in.probeCopyTakers(subs)
	}
	app, err := in.toApp()
	if err != nil {
		return
	}
	defer app.Close()
	var copies []io.Writer
	for _, s := range subs {
		t := newTee(func() (netpipe.HalfCloser, error) { return in.toPlugin(s) })
		defer t.close()
		copies = append(copies, t)
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(in.client, app)
		_ = in.client.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(app, io.TeeReader(client, io.MultiWriter(copies...)))
	_ = app.(*net.TCPConn).CloseWrite()
	<-done
}
