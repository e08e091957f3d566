package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// The agent's user, and somebody else.
var userKey, otherKey = genKey(), genKey()

func genKey() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	return k
}

// testIdentity is the test agents' identity, which proofs are made for.
const testIdentity = "uid-test/mirror-agent-test"

func userKeys() []ed25519.PublicKey { return []ed25519.PublicKey{userKey.Public().(ed25519.PublicKey)} }

func TestRunRefusesNoKey(t *testing.T) {
	err := Run(context.Background(), Config{ListenAddr: "127.0.0.1:0", IdleTimeout: time.Second})
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("got %v, want ErrNoKey", err)
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	err := Run(context.Background(), Config{ListenAddr: "0.0.0.0:0", IdleTimeout: time.Second, AuthorizedKeys: userKeys(), Identity: testIdentity})
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("got %v, want ErrNotLoopback", err)
	}
}

// A listener anywhere but loopback is refused too, and closed.
func TestServeRefusesNonLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	err = Serve(context.Background(), Config{IdleTimeout: time.Second, AuthorizedKeys: userKeys(), Identity: testIdentity}, ln)
	if !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("got %v, want ErrNotLoopback", err)
	}
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("the refused listener is still open: %v", err)
	}
}

// listen is a loopback listener for an agent to serve on: it takes
// connections from the moment it returns.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func TestExitsWhenIdleButNotWhileConnected(t *testing.T) {
	ln := listen(t)
	addr := ln.Addr().String()
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), Config{IdleTimeout: 200 * time.Millisecond, AuthorizedKeys: userKeys(), Identity: testIdentity}, ln)
	}()
	c := dialAgent(t, addr)
	if err := protocol.ClientAuth(c, userKey, testIdentity); err != nil {
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
