package agent

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
	c, err := net.Dial("tcp", routedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
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
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
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
	c, err := net.Dial("tcp", routedPortTo(t, program))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\nX-User: alice\r\n\r\n")
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "hello, this is not HTTP\n" {
		t.Fatalf("the client got %q, %v", got, err)
	}
}

// oneRequestProgram is a program that takes one connection, reads one
// request from it and answers as answer does; it returns its address.
func oneRequestProgram(t *testing.T, answer func(c net.Conn, br *bufio.Reader, req *http.Request)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		answer(c, br, req)
	}()
	return ln.Addr().String()
}

// A routed request reaches the program with the headers it came with: no
// User-Agent where the client sent none.
func TestRoutedRequestKeepsItsHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	program := oneRequestProgram(t, func(c net.Conn, _ *bufio.Reader, req *http.Request) {
		seen <- req.Header
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	c, err := net.Dial("tcp", routedPortTo(t, program))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\nX-User: alice\r\n\r\n")
	h := <-seen
	if _, ok := h["User-Agent"]; ok {
		t.Fatalf("the program saw a User-Agent the client never sent: %v", h)
	}
}
