package incoming

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testnet"
)

// upgradeRequest is a WebSocket-style upgrade for user on a raw connection.
func upgradeRequest(user string) string {
	return "GET /ws HTTP/1.1\r\nHost: x\r\nX-User: " + user + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
}

func readBody(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// An upgrade the program answers 200 (it does not switch) must not make the
// connection the program's: the next request goes where its filters say.
func TestRefusedUpgradeKeepsRoutingRequestByRequest(t *testing.T) {
	c := dialRouted(t, routedPort(t))
	br := bufio.NewReader(c)
	io.WriteString(c, upgradeRequest("alice"))
	if got := readBody(t, br); !strings.HasPrefix(got, "program ") {
		t.Fatalf("alice's upgrade answered by %q, want the program", got)
	}
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: x\r\nX-User: bob\r\n\r\n")
	if got := readBody(t, br); !strings.HasPrefix(got, "app ") {
		t.Fatalf("bob's request after a refused upgrade answered by %q, want the pod's app", got)
	}
}

// An upgrade the program accepts (101) hands it the connection whole.
func TestAcceptedUpgradeHandsTheConnectionOver(t *testing.T) {
	addr := routedPortTo(t, oneRequestProgram(t, func(c net.Conn, br *bufio.Reader, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		_, _ = io.Copy(c, br) // echo what follows the switch
	}))
	c := dialRouted(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, upgradeRequest("alice"))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	// Not HTTP any more: these bytes must come back unchanged.
	io.WriteString(c, "GET /not-a-request X-User: bob\r\n\r\n")
	got := make([]byte, len("GET /not-a-request X-User: bob\r\n\r\n"))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "GET /not-a-request X-User: bob\r\n\r\n" {
		t.Fatalf("after the switch got %q, %v", got, err)
	}
}

// A stolen request whose answer is not HTTP: the client gets the program's
// bytes as they are, not an EOF.
func TestFilteredStealPassesANonHTTPAnswerAsItIs(t *testing.T) {
	program := oneRequestProgram(t, func(c net.Conn, _ *bufio.Reader, _ *http.Request) { io.WriteString(c, "hello, this is not HTTP\n") })
	c := dialRouted(t, routedPortTo(t, program))
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\nX-User: alice\r\n\r\n")
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello, this is not HTTP\n" {
		t.Fatalf("the client got %q, %v", got, err)
	}
}

// oneRequestProgram is a program that reads one request from each
// connection and answers as answer does; it returns its address.
func oneRequestProgram(t *testing.T, answer func(c net.Conn, br *bufio.Reader, req *http.Request)) string {
	t.Helper()
	return testnet.Serve(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		if req, err := http.ReadRequest(br); err == nil {
			answer(c, br, req)
		}
	}).String()
}

// dialRouted connects a client to a routed port, with a deadline.
func dialRouted(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}
