package agent

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestRunRefusesNonLoopback(t *testing.T) {
	err := Run(context.Background(), Config{ListenAddr: "0.0.0.0:0", IdleTimeout: time.Second, Secret: "x"})
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("got %v, want ErrNotLoopback", err)
	}
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestExitsWhenIdleButNotWhileConnected(t *testing.T) {
	addr := freeAddr(t)
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), Config{ListenAddr: addr, IdleTimeout: 200 * time.Millisecond, Secret: "x"})
	}()
	var c net.Conn
	var err error
	for i := 0; i < 50; i++ {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("agent exited with a session open: %v", err)
	case <-time.After(600 * time.Millisecond):
	}
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not exit after the idle timeout")
	}
}
