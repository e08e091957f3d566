package agent

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/xtaci/smux"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// startAgent runs a real agent on loopback against a fake /proc.
func startAgent(t *testing.T, environ string) string {
	t.Helper()
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "7", "environ"), []byte(environ), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{ListenAddr: addr, IdleTimeout: time.Minute, Secret: "s3cret", TargetPID: 7, ProcRoot: proc})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return addr
}

func dialSession(t *testing.T, addr string) *smux.Session {
	t.Helper()
	var c net.Conn
	var err error
	for i := 0; i < 100; i++ {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	sess, err := smux.Client(c, protocol.SmuxConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func TestSessionServesTheTargetsEnvironment(t *testing.T) {
	addr := startAgent(t, "A=1\x00POD_NAME=echo-abc\x00EMPTY=\x00")
	sess := dialSession(t, addr)
	control, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := protocol.ClientHandshake(control, "test", "s3cret"); err != nil {
		t.Fatal(err)
	}
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := protocol.Write(st, protocol.Request{Kind: protocol.KindEnv}); err != nil {
		t.Fatal(err)
	}
	var resp protocol.Response
	if err := protocol.Read(st, &resp); err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "POD_NAME=echo-abc", "EMPTY="}
	if resp.Error != "" || !slices.Equal(resp.Env, want) {
		t.Fatalf("got %+v, want %v", resp, want)
	}
}

func TestSessionWithWrongSecretGetsNothing(t *testing.T) {
	addr := startAgent(t, "A=1\x00")
	sess := dialSession(t, addr)
	control, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := protocol.ClientHandshake(control, "test", "guess"); !errors.Is(err, protocol.ErrWrongSecret) {
		t.Fatalf("got %v", err)
	}
	// The agent closes the session: no request gets an answer.
	st, err := sess.OpenStream()
	if err == nil {
		_ = protocol.Write(st, protocol.Request{Kind: protocol.KindEnv})
		var resp protocol.Response
		if err := protocol.Read(st, &resp); err == nil {
			t.Fatalf("request answered after a refused handshake: %+v", resp)
		}
	}
}
