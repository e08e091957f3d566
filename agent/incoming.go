package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xtaci/smux"
	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// serveIncoming serves the pod's port to the session: all of it (steal), the
// requests that match (steal with HTTP filters), or a copy while the pod's
// app answers (mirror), shared with the other sessions of the pod as the
// port router's rules allow. The claim lives while the request stream and
// the session do; another session taking the port over ends it, saying so
// on the stream.
func serveIncoming(ctx context.Context, cfg Config, sess *smux.Session, st *smux.Stream, req protocol.Request, ports *portTable) {
	s, err := newSubscriber(req)
	if err != nil {
		_ = protocol.Write(st, protocol.Response{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs := newClaimStream(st)
	if ports.trust != nil {
		defer ports.trust.addAsker(cs)()
	}
	// Named by the key this agent verified, never by the plugin's own words.
	key := ownKey(cfg)
	s.holder = holder(key, agentNameOf(cfg.Identity))
	s.session = protocol.KeyFingerprint(key) + "/" + req.Session
	s.ask = cs.ask
	s.open = func(hdr protocol.IncomingConn) (netpipe.HalfCloser, error) { return openWith(sess, hdr) }
	s.evict = func(reason string) {
		cfg.Logger.Info("incoming taken", zap.Int("port", req.Port), zap.String("why", reason))
		_ = cs.write(protocol.Response{Error: reason, Errno: "EADDRINUSE"})
		st.Close()
	}
	leave, err := ports.join(ctx, req.Port, s)
	if err != nil {
		_ = cs.write(claimResponse(err))
		return
	}
	defer leave()
	cfg.Logger.Info("incoming on", zap.Int("port", req.Port), zap.String("mode", string(req.Mode)), zap.Int("filters", len(req.Filters)))
	defer cfg.Logger.Info("incoming off", zap.Int("port", req.Port))
	if err := cs.write(protocol.Response{}); err != nil {
		return
	}
	// The plugin closing the stream, or the session ending, stops it.
	<-cs.closed
}

// agentNameOf is the container part of an identity.
func agentNameOf(identity string) string {
	_, name, _ := strings.Cut(identity, "/")
	return name
}

// newSubscriber is req's claim, without its way to the program yet.
func newSubscriber(req protocol.Request) (*subscriber, error) {
	filters, err := protocol.CompileFilters(req.Filters)
	if err != nil {
		return nil, err
	}
	if req.Mode != protocol.ModeMirror && req.Mode != protocol.ModeSteal {
		return nil, fmt.Errorf("unknown incoming mode %q", req.Mode)
	}
	return &subscriber{session: req.Session, holder: req.Holder, since: time.Now(), mode: req.Mode,
		filters: filters, probes: req.ProbePaths, takeover: req.Takeover, req: req}, nil
}

// claimResponse says why a claim failed; the errno tells the plugin whether
// to ask again (EADDRINUSE: the holder may be a session just ended).
func claimResponse(err error) protocol.Response {
	switch {
	case errors.Is(err, errPortHeld):
		return protocol.Response{Error: err.Error(), Errno: "EADDRINUSE"}
	case errors.Is(err, errNotRouted):
		return protocol.Response{Error: err.Error(), Errno: "ENOENT"}
	}
	return protocol.ErrorResponse(err)
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
		in.route()
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
	_, _ = io.Copy(app, io.TeeReader(in.client, io.MultiWriter(copies...)))
	_ = app.(*net.TCPConn).CloseWrite()
	<-done
}

// route takes HTTP/1.x requests one by one: each goes to the oldest session
// whose filters match it, the rest to the pod's app, on keep-alive
// connections. Cleartext HTTP/2 (prior knowledge or an h2c upgrade) is
// routed stream by stream (h2.go). A connection that is neither goes to the
// app whole, byte-exact; another upgrade (a WebSocket) goes whole where its
// request goes.
func (in incomingConn) route() {
	br := bufio.NewReader(in.client)
	switch sniff(in.client, br) {
	case wireH2:
		in.serveH2(bufferedConn{in.client, br}, nil, nil)
		return
	case wireOther:
		app, err := in.toApp()
		if err != nil {
			return
		}
		passWhole(in.client, br, app.(*net.TCPConn))
		return
	}
	out := bufio.NewWriter(in.client)
	ups := map[*subscriber]*upstream{}
	defer func() {
		for _, u := range ups {
			u.close()
		}
	}()
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if isH2CUpgrade(req) {
			in.upgradeH2(br, req)
			return
		}
		up, to, err := in.upstreamFor(ups, in.pick(req))
		if err != nil {
			return
		}
		if _, ok := req.Header["User-Agent"]; !ok {
			// Written again as it came: Request.Write would add Go's own.
			req.Header["User-Agent"] = []string{""}
		}
		if err := req.Write(up.w); err != nil || up.w.Flush() != nil {
			return
		}
		if !answersHTTP(up.r) {
			// The program answered an HTTP request with something else:
			// that is its behaviour, so the client gets its bytes as they are.
			delete(ups, to)
			relayRaw(in.client, up)
			return
		}
		resp, err := http.ReadResponse(up.r, req)
		if err != nil {
			return
		}
		if resp.StatusCode == http.StatusSwitchingProtocols && isUpgrade(req) {
			// Only a switch the program accepted makes the connection its
			// own; an upgrade it refused leaves the next request to its filters.
			delete(ups, to)
			switchWhole(in.client, br, out, resp, up)
			return
		}
		err = resp.Write(out) // buffered: one write per response, not one per header line
		if err == nil {
			err = out.Flush()
		}
		resp.Body.Close()
		if err != nil || resp.Close || req.Close {
			return
		}
	}
}

// upstreamFor is the connection a request for to goes on, made on first
// use; when to's program does not take it, the pod's app's (returned as to).
func (in incomingConn) upstreamFor(ups map[*subscriber]*upstream, to *subscriber) (*upstream, *subscriber, error) {
	if up := ups[to]; up != nil {
		return up, to, nil
	}
	var c io.ReadWriteCloser
	var err error
	if to != nil {
		if c, err = in.toPlugin(to); err != nil {
			to = nil // the program did not take it: this request is the app's
			if up := ups[nil]; up != nil {
				return up, nil, nil
			}
		}
	}
	if to == nil {
		if c, err = in.toApp(); err != nil {
			return nil, nil, err
		}
	}
	up := &upstream{conn: c, r: bufio.NewReader(c), w: bufio.NewWriter(c)}
	ups[to] = up
	return up, to, nil
}

// pick is the session a request goes to (nil: the pod's app): never a
// kubelet probe; else the oldest steal session whose filters match.
func (in incomingConn) pick(req *http.Request) *subscriber {
	if isProbe(req, in.probes) {
		return nil
	}
	for _, s := range in.router.current() {
		if s.mode == protocol.ModeSteal && s.takes(req) {
			return s
		}
	}
	return nil
}

type upstream struct {
	conn io.ReadWriteCloser
	r    *bufio.Reader
	w    *bufio.Writer // kept: Request.Write would make a new one per request
}

func (u *upstream) close() {
	if u.conn != nil {
		u.conn.Close()
	}
}
