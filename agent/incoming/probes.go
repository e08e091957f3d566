package incoming

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

// probePeekWait bounds how long a stolen connection on a probed port waits
// for its first request before it goes to the session as it is.
const probePeekWait = time.Second

// maxProbeHead is as much of a request head as is read to recognise a probe.
const maxProbeHead = 4096

// isProbe: the kubelet's HTTP or gRPC probe of one of paths. The User-Agent marks
// it; ordinary clients (a NodePort request SNATed to the node's address too)
// do not send it.
func isProbe(r *http.Request, paths []string) bool {
	if !strings.HasPrefix(r.Header.Get("User-Agent"), "kube-probe/") {
		return false
	}
	for _, p := range paths {
		if path, _, _ := strings.Cut(p, "?"); r.URL.Path == path {
			return true
		}
	}
	return false
}

// stealExceptProbes is an unfiltered steal on a port the kubelet probes: the
// first request's head is read (without taking it off the connection); a
// probe goes to the pod's app, anything else to the session, byte-exact.
func (in incomingConn) stealExceptProbes(s *subscriber) {
	br := bufio.NewReaderSize(in.client, maxProbeHead)
	_ = in.client.SetReadDeadline(time.Now().Add(probePeekWait))
	head := peekHead(br)
	_ = in.client.SetReadDeadline(time.Time{})
	if strings.HasPrefix(string(head), h2PrefaceStart) { // gRPC probes: routed stream by stream
		in.serveH2(bufferedConn{in.client, br}, nil, nil)
		return
	}
	var up netpipe.HalfCloser
	if req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head))); err == nil && isProbe(req, in.probes) {
		app, err := in.toApp()
		if err != nil {
			return
		}
		up = app.(*net.TCPConn)
	} else {
		st, err := in.toPluginOrApp(s)
		if err != nil {
			return
		}
		up = st
	}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		if _, err := up.Write(b); err != nil {
			up.Close()
			return
		}
	}
	netpipe.Join(up, in.client.(*net.TCPConn), nil, nil)
}

// probeCopyTakers: on a port the kubelet probes, a connection whose first
// request is a probe is copied only to the sessions that asked for probe
// copies (the kubelet probes every few seconds, each on a connection of its
// own, which is noise to a program under mirror). The head is read without
// being taken off: the reader returned gives the client's bytes from the start.
func (in incomingConn) probeCopyTakers(subs []*subscriber) ([]*subscriber, io.Reader) {
	br := bufio.NewReaderSize(in.client, maxProbeHead)
	_ = in.client.SetReadDeadline(time.Now().Add(probePeekWait))
	head := peekHead(br)
	_ = in.client.SetReadDeadline(time.Time{})
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil || !isProbe(req, in.probes) {
		return subs, br
	}
	var takers []*subscriber
	for _, s := range subs {
		if s.req.MirrorProbes {
			takers = append(takers, s)
		}
	}
	return takers, br
}

// peekHead returns what has arrived of the first request head, up to its
// blank line, maxProbeHead bytes, or the read deadline, leaving it unread.
func peekHead(br *bufio.Reader) []byte {
	want := 1
	for {
		_, err := br.Peek(want) // waits for more only when what is there is not enough
		b, _ := br.Peek(br.Buffered())
		if err != nil || bytes.Contains(b, []byte("\r\n\r\n")) || len(b) >= maxProbeHead {
			return b
		}
		want = len(b) + 1
	}
}
