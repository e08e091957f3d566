package session_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/agent"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testnet"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// userKey is the key the test agents are started for.
var userKey = func() ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		panic(err)
	}
	return k
}()

// startAgent runs the real agent on loopback (against a fake /proc).
func startAgent(t *testing.T) string {
	t.Helper()
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "7", "environ"), []byte("A=1\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Serve(ctx, agent.Config{IdleTimeout: time.Minute, AuthorizedKeys: []ed25519.PublicKey{userKey.Public().(ed25519.PublicKey)}, TargetPID: 7, ProcRoot: proc, Identity: "uid/agent"}, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// transports dials the agent and remembers each transport, so the test can
// cut them the way a dropped port-forward would.
type transports struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func (tr *transports) dial() (net.Conn, error) {
	c, err := net.Dial("tcp", tr.addr)
	if err == nil {
		tr.mu.Lock()
		tr.conns = append(tr.conns, c)
		tr.mu.Unlock()
	}
	return c, err
}

// cut ends every transport's reading side: like a port-forward whose
// connection was dropped, the plugin's next read is a plain end of stream.
func (tr *transports) cut() {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, c := range tr.conns {
		_ = c.(*net.TCPConn).CloseRead()
	}
}

// greeter accepts connections, greets each and then keeps it open.
func greeter(t *testing.T) netip.AddrPort {
	t.Helper()
	return testnet.Serve(t, func(c net.Conn) {
		defer c.Close()
		_, _ = io.WriteString(c, "hello\n")
		_, _ = io.Copy(io.Discard, c)
	})
}

func TestSessionSurvivesADroppedTransport(t *testing.T) {
	tr := &transports{addr: startAgent(t)}
	dst := greeter(t)
	var mu sync.Mutex
	var lines []string
	sess, err := session.New(context.Background(), func(ctx context.Context) (*session.Link, error) {
		return session.Connect(ctx, tr.dial, "test", userKey, "uid/agent")
	}, session.Options{Progress: func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	inflight, err := sess.Dial(dst, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := bufio.NewReader(inflight).ReadString('\n'); l != "hello\n" {
		t.Fatalf("greeting %q, %v", l, err)
	}
	tr.cut()

	// The stream of the lost link ends with an error that is not a clean
	// EOF (a copy loop would pass that on as the peer's orderly close), and
	// it does not hang.
	_ = inflight.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := inflight.Read(make([]byte, 1)); !errors.Is(err, session.ErrLinkLost) {
		t.Fatalf("in-flight stream after the cut: %v, want ErrLinkLost", err)
	}
	// A new request waits for the next link and works.
	again, err := sess.Dial(dst, 5*time.Second)
	if err != nil {
		t.Fatalf("dial after the cut: %v", err)
	}
	if l, _ := bufio.NewReader(again).ReadString('\n'); l != "hello\n" {
		t.Fatalf("greeting after reconnect %q", l)
	}
	if env, err := sess.Env(); err != nil || len(env) != 1 {
		t.Fatalf("env after reconnect: %v %v", env, err)
	}
	mu.Lock()
	got := strings.Join(lines, "\n")
	mu.Unlock()
	if !strings.Contains(got, "connection to the agent lost") || !strings.Contains(got, "reconnected to the agent") {
		t.Fatalf("progress lines: %q", got)
	}

	sess.Close()
	if _, err := sess.Dial(dst, time.Second); !errors.Is(err, session.ErrClosed) {
		t.Fatalf("dial after Close: %v, want ErrClosed", err)
	}
}

// TestRequestsFailWhenTheAgentStaysGone: with no agent to come back to, a
// request fails after the wait instead of hanging.
func TestRequestsFailWhenTheAgentStaysGone(t *testing.T) {
	tr := &transports{addr: startAgent(t)}
	first := true
	sess, err := session.New(context.Background(), func(ctx context.Context) (*session.Link, error) {
		if !first {
			return nil, errors.New("agent gone")
		}
		first = false
		return session.Connect(ctx, tr.dial, "test", userKey, "uid/agent")
	}, session.Options{Wait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	tr.cut()
	if _, err := sess.Dial(greeter(t), time.Second); !errors.Is(err, session.ErrDisconnected) {
		t.Fatalf("dial with the agent gone: %v, want ErrDisconnected", err)
	}
}

// An agent started for another user refuses this one at once, without
// retrying until the deadline.
func TestConnectToAnotherUsersAgentIsRefused(t *testing.T) {
	tr := &transports{addr: startAgent(t)}
	_, stranger, _ := ed25519.GenerateKey(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := session.Connect(ctx, tr.dial, "test", stranger, "uid/agent"); !errors.Is(err, protocol.ErrNotAuthorized) {
		t.Fatalf("another user's key: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("a refused key was retried")
	}
}

// TestRequestsFailAtOnceWhenTheAgentIsUnavailable: when reconnecting learns
// that the agent cannot come back soon (its pod is gone), a request fails at
// once rather than after the whole wait.
func TestRequestsFailAtOnceWhenTheAgentIsUnavailable(t *testing.T) {
	tr := &transports{addr: startAgent(t)}
	var attempts atomic.Int32
	sess, err := session.New(context.Background(), func(ctx context.Context) (*session.Link, error) {
		if attempts.Add(1) > 1 {
			return nil, fmt.Errorf("pod/x is gone (%w)", session.ErrUnavailable)
		}
		return session.Connect(ctx, tr.dial, "test", userKey, "uid/agent")
	}, session.Options{Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	tr.cut()
	testenv.Eventually(t, 10*time.Second, func() bool { return attempts.Load() > 1 },
		func() string { return "the loss was not noticed: no attempt to reconnect" })
	start := time.Now()
	if _, err := sess.Dial(greeter(t), time.Second); !errors.Is(err, session.ErrDisconnected) {
		t.Fatalf("dial with the pod gone: %v, want ErrDisconnected", err)
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("the request waited %s for an agent that cannot come back", waited)
	}
}
