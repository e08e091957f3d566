package incoming

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestIsProbe(t *testing.T) {
	req := func(path, ua string) *http.Request {
		r, _ := http.NewRequest("GET", "http://10.244.0.5:8080"+path, nil)
		r.Header.Set("User-Agent", ua)
		return r
	}
	paths := []string{"/ready", "/healthz?full=1"}
	cases := []struct {
		r    *http.Request
		want bool
	}{
		{req("/ready", "kube-probe/1.32"), true},
		{req("/healthz?full=1", "kube-probe/1.32"), true},
		{req("/ready", "curl/8.0"), false},        // an ordinary client of the probe path
		{req("/other", "kube-probe/1.32"), false}, // not a probe of this port
	}
	for _, tc := range cases {
		if got := isProbe(tc.r, paths); got != tc.want {
			t.Errorf("%s %q: got %v", tc.r.URL, tc.r.UserAgent(), got)
		}
	}
}

// A client that sent its whole request and waits for the answer: the head
// is there at once, without waiting for bytes that will not come.
func TestPeekHeadDoesNotWaitForMore(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	go func() { _, _ = io.WriteString(c, "GET /ready HTTP/1.1\r\nUser-Agent: kube-probe/1.32\r\n\r\n") }()
	done := make(chan []byte, 1)
	go func() { done <- peekHead(bufio.NewReaderSize(s, maxProbeHead)) }()
	select {
	case b := <-done:
		if !strings.HasSuffix(string(b), "\r\n\r\n") {
			t.Fatalf("head %q", b)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("peekHead waited for bytes after a complete head")
	}
}

// peekHead returns the head without consuming it, and gives up at the
// deadline with what it has (a protocol where the server speaks first).
func TestPeekHeadLeavesTheBytes(t *testing.T) {
	in := "GET /ready HTTP/1.1\r\nHost: x\r\nUser-Agent: kube-probe/1.32\r\n\r\nBODY"
	br := bufio.NewReaderSize(strings.NewReader(in), maxProbeHead)
	head := peekHead(br)
	if !strings.HasSuffix(string(head), "\r\n\r\n") && !strings.Contains(string(head), "\r\n\r\n") {
		t.Fatalf("head %q", head)
	}
	rest := make([]byte, len(in))
	n, _ := br.Read(rest)
	if got := string(rest[:n]); !strings.HasPrefix(in, got) || n < len("GET /ready") {
		t.Fatalf("bytes consumed by the peek: read back %q", got)
	}
	silent := bufio.NewReaderSize(slowReader{}, maxProbeHead)
	done := make(chan []byte)
	go func() { done <- peekHead(silent) }()
	select {
	case b := <-done:
		if len(b) != 0 {
			t.Fatalf("silent peer: %q", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("peekHead did not give up on a reader that fails")
	}
}

// slowReader stands for a connection whose read deadline has passed.
type slowReader struct{}

func (slowReader) Read([]byte) (int, error) { return 0, errTimeout{} }

type errTimeout struct{}

func (errTimeout) Error() string { return "i/o timeout" }
