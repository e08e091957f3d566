package incoming

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// stealFiltered takes HTTP/1.x requests one by one: each goes to the oldest
// session whose filters match it, the rest to the pod's app, on keep-alive
// connections. Cleartext HTTP/2 (prior knowledge or an h2c upgrade) is
// routed stream by stream (http2.go). A connection that is neither (sniff
// tells) goes to the app whole, byte-exact; another upgrade (a WebSocket)
// goes whole where its request goes.
func (in incomingConn) stealFiltered() {
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

// passWhole hands the rest of the connection, starting with what br holds,
// to up unchanged, both ways.
func passWhole(client net.Conn, br *bufio.Reader, up netpipe.HalfCloser) {
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := up.Write(b); err != nil {
			up.Close()
			return
		}
	}
	netpipe.Join(up, client.(*net.TCPConn), nil, nil)
}

// isUpgrade: the request asks to switch protocols (a WebSocket, h2c).
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// switchWhole answers the client with the upstream's 101 and then joins the
// two ends, both ways, unchanged, starting with what either side's reader
// already holds: after the switch the connection is not HTTP/1.
func switchWhole(client net.Conn, br *bufio.Reader, out *bufio.Writer, resp *http.Response, up *upstream) {
	defer up.close()
	if resp.Write(out) != nil || out.Flush() != nil {
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(client, up.r)
		_ = client.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(up.conn, br)
	if hc, ok := up.conn.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	<-done
}

// answersHTTP: the next bytes from the upstream start an HTTP/1.x response
// (or there are none: the reader's error ends the request as before).
func answersHTTP(r *bufio.Reader) bool {
	b, err := r.Peek(len("HTTP/"))
	return string(b) == "HTTP/" || (err != nil && len(b) == 0)
}

// relayRaw hands the client what the upstream sends, buffered bytes first,
// until it closes, then closes the client's side too.
func relayRaw(client net.Conn, up *upstream) {
	defer up.close()
	_, _ = io.Copy(client, up.r)
	_ = client.(*net.TCPConn).CloseWrite()
}
