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
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{IdleTimeout: time.Minute, AuthorizedKeys: userKeys(), Identity: testIdentity, TargetPID: 7, ProcRoot: proc}, ln)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

// dialAgent connects to an agent serving on a listener of listen's.
func dialAgent(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialSession opens an authenticated smux session as the agent's user.
func dialSession(t *testing.T, addr string) *smux.Session {
	t.Helper()
	c := dialAgent(t, addr)
	if err := protocol.ClientAuth(c, userKey, testIdentity); err != nil {
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
	if _, err := protocol.ClientHandshake(control, "test"); err != nil {
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

func TestAnotherUsersKeyGetsNothing(t *testing.T) {
	addr := startAgent(t, "A=1\x00")
	c := dialAgent(t, addr)
	if err := protocol.ClientAuth(c, otherKey, testIdentity); !errors.Is(err, protocol.ErrNotAuthorized) {
		t.Fatalf("another key: %v", err)
	}
	// The agent hangs up: nothing more comes, whatever is sent.
	_, _ = c.Write([]byte("anything"))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("refused connection still open: %d bytes, %v", n, err)
	}
}

// A client that skips authentication and speaks smux at once (what a reader
// of the old pod spec would do) gets no answer to anything.
func TestSmuxWithoutAuthenticationGetsNothing(t *testing.T) {
	addr := startAgent(t, "A=1\x00")
	sess, err := smux.Client(dialAgent(t, addr), protocol.SmuxConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	control, err := sess.OpenStream()
	if err == nil {
		_ = control.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := protocol.ClientHandshake(control, "test"); err == nil {
			t.Fatal("handshake answered without authentication")
		}
	}
}
