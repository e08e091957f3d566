package netpipe

import (
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// tcpPair returns the two ends of one loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func TestJoinCarriesHalfClosesBothWays(t *testing.T) {
	client, a := tcpPair(t)
	b, server := tcpPair(t)
	var up, down atomic.Int64
	joined := make(chan struct{})
	go func() { Join(a, b, &up, &down); close(joined) }()

	_, _ = client.Write([]byte("request"))
	_ = client.CloseWrite() // the server must see EOF, and still answer
	got, err := io.ReadAll(server)
	if err != nil || string(got) != "request" {
		t.Fatalf("server read %q %v", got, err)
	}
	_, _ = server.Write([]byte("answer after EOF"))
	_ = server.CloseWrite()
	got, err = io.ReadAll(client)
	if err != nil || string(got) != "answer after EOF" {
		t.Fatalf("client read %q %v", got, err)
	}
	<-joined
	if up.Load() != 7 || down.Load() != 16 {
		t.Fatalf("counted %d up, %d down", up.Load(), down.Load())
	}
}

func TestJoinResetsTheOtherSideOnError(t *testing.T) {
	client, a := tcpPair(t)
	b, server := tcpPair(t)
	joined := make(chan struct{})
	go func() { Join(a, b, nil, nil); close(joined) }()
	_ = client.SetLinger(0)
	client.Close() // a reset, not a clean end
	buf := make([]byte, 1)
	if _, err := server.Read(buf); err == nil || err == io.EOF {
		t.Fatalf("server saw %v, want a reset", err)
	}
	<-joined
}
