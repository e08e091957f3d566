package incoming

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"

	"golang.org/x/net/http2"
)

// Cleartext HTTP/2 (h2c) is filtered stream by stream: the agent ends the
// client's HTTP/2 connection itself and sends each request, as its own
// stream, over one HTTP/2 connection to where it goes (a session's program
// or the pod's app). gRPC calls are HTTP/2 requests: their metadata are
// headers and their method the path, so the same filters apply.

// h2PrefaceStart is as much of HTTP/2's client preface as the sniffer reads.
const h2PrefaceStart = "PRI * HT"

// maxUpgradeBody bounds the body of an h2c upgrade request, which is read
// whole before the switch (it is the connection's first stream).
const maxUpgradeBody = 1 << 20

// isH2CUpgrade: an HTTP/1.1 request asking to continue in cleartext HTTP/2.
func isH2CUpgrade(r *http.Request) bool {
	return hasToken(r.Header.Values("Upgrade"), "h2c") && hasToken(r.Header.Values("Connection"), "HTTP2-Settings") &&
		len(r.Header.Values("HTTP2-Settings")) == 1
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// bufferedConn is a connection whose first bytes were read ahead.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// upgradeH2 answers an h2c upgrade request and serves the connection as
// HTTP/2, the request being its first stream.
func (in incomingConn) upgradeH2(br *bufio.Reader, req *http.Request) {
	settings, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(req.Header.Get("HTTP2-Settings"), "="))
	if err != nil {
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxUpgradeBody+1))
	if err != nil || len(body) > maxUpgradeBody {
		return
	}
	req.Body = io.NopCloser(strings.NewReader(string(body)))
	for _, h := range []string{"Connection", "Upgrade", "HTTP2-Settings"} {
		req.Header.Del(h) // the switch is this hop's; onward it is plain HTTP/2
	}
	if _, err := io.WriteString(in.client, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"); err != nil {
		return
	}
	in.serveH2(bufferedConn{in.client, br}, req, settings)
}

// serveH2 serves one HTTP/2 connection, each stream to where pick sends it.
func (in incomingConn) serveH2(c net.Conn, upgrade *http.Request, settings []byte) {
	ups := &h2Upstreams{in: in, proxies: map[*subscriber]*httputil.ReverseProxy{}}
	defer ups.close()
	// x/net's server, not net/http's: only it takes an h2c upgrade's first
	// request as stream 1, and clients (curl --http2, older gRPC stacks)
	// still upgrade.
	//lint:ignore SA1019 net/http has no equivalent of ServeConnOpts.UpgradeRequest
	srv := &http2.Server{}
	//lint:ignore SA1019 as above
	srv.ServeConn(c, &http2.ServeConnOpts{Handler: ups, UpgradeRequest: upgrade, Settings: settings})
}

// h2Upstreams are one client connection's HTTP/2 connections onward: one per
// destination, made on first use.
type h2Upstreams struct {
	in      incomingConn
	mu      sync.Mutex
	proxies map[*subscriber]*httputil.ReverseProxy // nil key: the pod's app
}

// quietLog keeps the proxy's per-request errors (a client gone mid-stream)
// out of the agent's log; the client sees them as a reset stream.
var quietLog = log.New(io.Discard, "", 0)

func (u *h2Upstreams) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.proxy(u.in.pick(r)).ServeHTTP(w, r)
}

// rewrite sends a request on unchanged: its authority, and forwarding
// headers as the client sent them (the proxy adds none and drops none).
func rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "upstream" // the dial ignores it
	pr.Out.Host = pr.In.Host
	for k, v := range pr.In.Header {
		if k == "Forwarded" || strings.HasPrefix(k, "X-Forwarded-") {
			pr.Out.Header[k] = v
		}
	}
}

// proxy is the proxy onto one HTTP/2 connection to to's program (nil: the
// pod's app), made on first use.
func (u *h2Upstreams) proxy(to *subscriber) *httputil.ReverseProxy {
	u.mu.Lock()
	defer u.mu.Unlock()
	if rp := u.proxies[to]; rp != nil {
		return rp
	}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	t := &http.Transport{Protocols: &p, DialContext: func(context.Context, string, string) (net.Conn, error) {
		if to == nil {
			return u.in.toApp()
		}
		c, err := u.in.toPlugin(to)
		if errors.Is(err, errNotDelivered) {
			return u.in.toApp() // the program stopped listening: the app's
		}
		if err != nil {
			return nil, err
		}
		nc, ok := c.(net.Conn)
		if !ok {
			c.Close()
			return nil, errNotConn
		}
		return nc, nil
	}}
	rp := &httputil.ReverseProxy{Rewrite: rewrite, Transport: t, ErrorLog: quietLog,
		FlushInterval: -1} // streams (gRPC) flow as they come
	u.proxies[to] = rp
	return rp
}

var errNotConn = errors.New("the session's stream is not a connection")

func (u *h2Upstreams) close() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, rp := range u.proxies {
		rp.Transport.(*http.Transport).CloseIdleConnections()
	}
}
