package egress

import (
	"io"
	"net"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

func TestDialCarriesBytesAndHalfClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // reads to EOF, then answers with what it got, then closes
		c, err := ln.Accept()
		if err != nil {
			return
		}
		got, _ := io.ReadAll(c)
		_, _ = c.Write(append([]byte("got:"), got...))
		c.Close()
	}()
	sess := session(t)
	st, resp := request(t, sess, protocol.Request{Kind: protocol.KindDial, Address: ln.Addr().String()})
	if resp.Error != "" {
		t.Fatal(resp.Error)
	}
	_, _ = st.Write([]byte("hello"))
	_ = st.CloseWrite() // the server sees EOF only through the half-close
	reply, err := io.ReadAll(st)
	if err != nil || string(reply) != "got:hello" {
		t.Fatalf("got %q %v", reply, err)
	}
}

func TestDialToAClosedPortIsRefused(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close() // nothing listens there now
	sess := session(t)
	_, resp := request(t, sess, protocol.Request{Kind: protocol.KindDial, Address: addr})
	if resp.Errno != "ECONNREFUSED" {
		t.Fatalf("got %+v", resp)
	}
}
