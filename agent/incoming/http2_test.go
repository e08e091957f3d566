package incoming

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testnet"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// h2cServer serves cleartext HTTP/2 (and HTTP/1) on loopback, answering name.
func h2cServer(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	srv := &http.Server{Protocols: &p, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, name+" "+r.Proto+" "+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// routedPort runs a filtered-steal router in front of an app: the program
// takes X-User alice. It returns the address clients dial.
func routedPort(t *testing.T) string {
	t.Helper()
	return routedPortWith(t, []protocol.HTTPFilter{{Kind: "header", Name: "X-User", Pattern: "^alice$"}}, nil)
}

// routedPortWith is routedPort with a steal of these filters, on a port the
// kubelet probes at probes.
func routedPortWith(t *testing.T, filters []protocol.HTTPFilter, probes []string) string {
	t.Helper()
	return routedPortOf(t, h2cServer(t, "program"), filters, probes)
}

// routedPortTo is routedPort with the program at program.
func routedPortTo(t *testing.T, program string) string {
	t.Helper()
	return routedPortOf(t, program, []protocol.HTTPFilter{{Kind: "header", Name: "X-User", Pattern: "^alice$"}}, nil)
}

func routedPortOf(t *testing.T, program string, filters []protocol.HTTPFilter, probes []string) string {
	t.Helper()
	app := h2cServer(t, "app")
	_, portStr, _ := net.SplitHostPort(app)
	port, _ := strconv.Atoi(portStr)
	s, err := newSubscriber(protocol.Request{Port: port, Mode: protocol.ModeSteal, Session: "a", Filters: filters, ProbePaths: probes})
	if err != nil {
		t.Fatal(err)
	}
	s.open = func(protocol.IncomingConn) (netpipe.HalfCloser, error) {
		c, err := net.Dial("tcp", program)
		if err != nil {
			return nil, err
		}
		return c.(*net.TCPConn), nil
	}
	r := &portRouter{port: port, subs: []*subscriber{s}}
	return testnet.Serve(t, func(c net.Conn) {
		incomingConn{router: r, client: c, port: port, probes: probes}.serve(r.current())
	}).String()
}

func TestH2PriorKnowledgeIsRoutedStreamByStream(t *testing.T) {
	addr := routedPort(t)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer client.CloseIdleConnections()
	for i, user := range []string{"alice", "bob", "alice", "carol"} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/r"+strconv.Itoa(i), nil)
		req.Header.Set("X-User", user)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "app HTTP/2.0 /r" + strconv.Itoa(i)
		if user == "alice" {
			want = "program HTTP/2.0 /r" + strconv.Itoa(i)
		}
		if string(body) != want {
			t.Errorf("X-User %s: got %q, want %q", user, body, want)
		}
	}
}

// An h2c upgrade: the upgrading request is stream 1 and goes by its headers;
// the next stream on the same connection goes by its own.
func TestH2CUpgradeIsRoutedStreamByStream(t *testing.T) {
	c, err := net.Dial("tcp", routedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /up HTTP/1.1\r\nHost: x\r\nX-User: alice\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: \r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %v, %v", resp, err)
	}
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, br)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/second"}, {"x-user", "bob"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	bodies, ended := map[uint32]string{}, map[uint32]bool{}
	for !ended[1] || !ended[3] {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames: %v (bodies so far %v)", err, bodies)
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			bodies[f.StreamID] += string(f.Data())
			ended[f.StreamID] = f.StreamEnded()
		case *http2.HeadersFrame:
			ended[f.StreamID] = f.StreamEnded()
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		}
	}
	if bodies[1] != "program HTTP/2.0 /up" || bodies[3] != "app HTTP/2.0 /second" {
		t.Fatalf("stream 1 (alice) got %q, stream 3 (bob) got %q", bodies[1], bodies[3])
	}
}

// An unfiltered steal of a port the kubelet probes by gRPC: the probe's
// health check reaches the pod's app, every other call the program.
func TestGRPCProbeStaysTheAppsUnderSteal(t *testing.T) {
	addr := routedPortWith(t, nil, []string{"/grpc.health.v1.Health/Check"})
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &p}}
	defer client.CloseIdleConnections()
	for _, c := range []struct{ ua, path, want string }{
		{"kube-probe/1.32 grpc-go/1.65.0", "/grpc.health.v1.Health/Check", "app"},
		{"grpc-go/1.85.0", "/grpc.health.v1.Health/Check", "program"},
		{"kube-probe/1.32 grpc-go/1.65.0", "/pkg.Service/Method", "program"},
	} {
		req, _ := http.NewRequest("POST", "http://"+addr+c.path, nil)
		req.Header.Set("User-Agent", c.ua)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := c.want + " HTTP/2.0 " + c.path; string(body) != want {
			t.Errorf("%s from %q: got %q, want %q", c.path, c.ua, body, want)
		}
	}
}
