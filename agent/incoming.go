package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"

	"github.com/xtaci/smux"
	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// serveIncoming redirects the pod's port to a listener of ours and hands each
// connection to the session: all of it (steal), the requests that match
// (steal with HTTP filters), or a copy while the pod's app answers (mirror).
// The redirect lives while the request stream and the session do.
func serveIncoming(ctx context.Context, cfg Config, sess *smux.Session, st *smux.Stream, req protocol.Request, rd *redirects) {
	filters, err := compileFilters(req.Filters)
	if err != nil {
		_ = protocol.Write(st, protocol.Response{Error: err.Error()})
		return
	}
	if req.Mode != protocol.ModeMirror && req.Mode != protocol.ModeSteal {
		_ = protocol.Write(st, protocol.Response{Error: "unknown incoming mode " + req.Mode})
		return
	}
	// Redirected packets keep the pod's address as destination, so listen on
	// all of them; a connection that did not come through the redirect
	// (another pod dialing this port directly) is refused at accept.
	ln, err := net.Listen("tcp", ":0")
	if err != nil {
		_ = protocol.Write(st, errorResponse(err))
		return
	}
	defer ln.Close()
	agentPort := ln.Addr().(*net.TCPAddr).Port
	if err := rd.add(req.Port, agentPort, req.Session, req.Holder); err != nil {
		resp := protocol.Response{Error: err.Error()}
		if errors.Is(err, errPortHeld) {
			resp.Errno = "EADDRINUSE" // the plugin may ask again: the holder may be a session just ended
		}
		_ = protocol.Write(st, resp)
		return
	}
	defer rd.remove(req.Port, agentPort)
	cfg.Logger.Info("incoming on", zap.Int("port", req.Port), zap.String("mode", req.Mode))
	defer cfg.Logger.Info("incoming off", zap.Int("port", req.Port))
	if err := protocol.Write(st, protocol.Response{}); err != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // the plugin closing the stream, or the session ending, stops it
		_, _ = io.Copy(io.Discard, st)
		cancel()
	}()
	context.AfterFunc(ctx, func() { ln.Close() })
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if port, err := originalPort(c); err != nil || port != req.Port {
			cfg.Logger.Warn("refused a connection that did not come through the redirect",
				zap.Stringer("from", c.RemoteAddr()), zap.Int("port", port), zap.Error(err))
			c.Close()
			continue
		}
		in := incomingConn{sess: sess, client: c, port: req.Port, mode: req.Mode, filters: filters, probes: req.ProbePaths}
		go in.serve()
	}
}

type filter struct {
	kind, name string
	re         *regexp.Regexp
}

func compileFilters(fs []protocol.HTTPFilter) ([]filter, error) {
	var out []filter
	for _, f := range fs {
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			return nil, fmt.Errorf("http filter %q: %w", f.Pattern, err)
		}
		if f.Kind != "header" && f.Kind != "path" && f.Kind != "method" {
			return nil, fmt.Errorf("http filter kind %q: use header, path or method", f.Kind)
		}
		out = append(out, filter{kind: f.Kind, name: f.Name, re: re})
	}
	return out, nil
}

// matches: every filter must hold.
func matches(fs []filter, r *http.Request) bool {
	for _, f := range fs {
		v := r.URL.Path
		switch f.kind {
		case "header":
			v = r.Header.Get(f.name)
		case "method":
			v = r.Method
		}
		if !f.re.MatchString(v) {
			return false
		}
	}
	return true
}

type incomingConn struct {
	sess    *smux.Session
	client  net.Conn
	port    int
	mode    string
	filters []filter
	probes  []string // the kubelet's HTTP probe paths on this port
}

func (in incomingConn) serve() {
	defer in.client.Close()
	switch {
	case in.mode == protocol.ModeMirror:
		in.mirror()
	case len(in.filters) > 0:
		in.route()
	case len(in.probes) > 0:
		in.stealExceptProbes()
	default:
		st, err := in.toPlugin()
		if err != nil {
			return
		}
		netpipe.Join(st, in.client.(*net.TCPConn), nil, nil)
	}
}

// toPlugin opens a stream to the session for this connection.
func (in incomingConn) toPlugin() (*smux.Stream, error) {
	st, err := in.sess.OpenStream()
	if err != nil {
		return nil, err
	}
	hdr := protocol.IncomingConn{Port: in.port, Client: in.client.RemoteAddr().String(), Mode: in.mode}
	if err := protocol.Write(st, hdr); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// toApp connects to the pod's own app, as the pod itself: traffic the pod
// makes to its own address does not pass the prerouting redirect.
func (in incomingConn) toApp() (net.Conn, error) {
	local := in.client.LocalAddr().(*net.TCPAddr)
	return net.Dial("tcp", net.JoinHostPort(local.IP.String(), strconv.Itoa(in.port)))
}

// mirror serves the client from the app and copies what the client sends to
// the session. A slow local program loses its copy, never the client's data.
func (in incomingConn) mirror() {
	app, err := in.toApp()
	if err != nil {
		return
	}
	defer app.Close()
	copies := newTee(in.toPlugin)
	defer copies.close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(in.client, app)
		_ = in.client.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(app, io.TeeReader(in.client, copies))
	_ = app.(*net.TCPConn).CloseWrite()
	<-done
}

// route takes HTTP/1.x requests one by one: those matching the filters go to
// the session, the rest to the pod's app, on one keep-alive connection. A
// connection that is not HTTP/1.x goes to the app whole, byte-exact; an
// upgrade (a WebSocket) goes whole where its request goes.
func (in incomingConn) route() {
	br := bufio.NewReader(in.client)
	if !looksLikeHTTP1(in.client, br) {
		app, err := in.toApp()
		if err != nil {
			return
		}
		passWhole(in.client, br, app.(*net.TCPConn))
		return
	}
	var local, app upstream
	defer local.close()
	defer app.close()
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		up, open := &app, func() (io.ReadWriteCloser, error) { return in.toApp() }
		if !isProbe(req, in.probes) && matches(in.filters, req) {
			up, open = &local, func() (io.ReadWriteCloser, error) { return in.toPlugin() }
		}
		if isUpgrade(req) {
			c, err := open()
			if err == nil {
				upgradeWhole(in.client, br, req, c)
			}
			return
		}
		if up.conn == nil {
			c, err := open()
			if err != nil {
				return
			}
			up.conn, up.r = c, bufio.NewReader(c)
		}
		if err := req.Write(up.conn); err != nil {
			return
		}
		resp, err := http.ReadResponse(up.r, req)
		if err != nil {
			return
		}
		err = resp.Write(in.client)
		resp.Body.Close()
		if err != nil || resp.Close || req.Close {
			return
		}
	}
}

type upstream struct {
	conn io.ReadWriteCloser
	r    *bufio.Reader
}

func (u *upstream) close() {
	if u.conn != nil {
		u.conn.Close()
	}
}
