package agent

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
)

// httpSniffWait bounds how long a filtered connection waits for its first
// bytes before it is taken for a protocol where the server speaks first.
const httpSniffWait = time.Second

// http1Methods start every HTTP/1.x request; anything else (TLS, HTTP/2's
// preface, a database protocol) is not read by the filters.
var http1Methods = []string{"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

// wire is what a connection speaks, as far as the filters care.
type wire int

const (
	wireOther wire = iota // not read by the filters: passed whole
	wireHTTP1
	wireH2 // cleartext HTTP/2 with prior knowledge (gRPC)
)

// sniff peeks at the first bytes without taking them: every HTTP/1.x
// request starts with a method and a space, eight bytes at most, and every
// HTTP/2 connection with its preface.
func sniff(c net.Conn, br *bufio.Reader) wire {
	_ = c.SetReadDeadline(time.Now().Add(httpSniffWait))
	defer c.SetReadDeadline(time.Time{})
	b, _ := br.Peek(len("OPTIONS "))
	if string(b) == h2PrefaceStart {
		return wireH2
	}
	for _, m := range http1Methods {
		if bytes.HasPrefix(b, []byte(m)) {
			return wireHTTP1
		}
	}
	return wireOther
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
