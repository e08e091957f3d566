package agent

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// runAgent starts an agent with the given auth timeout and idle timeout and
// returns its address and its end.
func runAgent(t *testing.T, authTimeout, idle time.Duration) (string, <-chan error) {
	t.Helper()
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{IdleTimeout: idle, AuthTimeout: authTimeout, AuthorizedKeys: userKeys(), Identity: testIdentity}, ln)
	}()
	return ln.Addr().String(), done
}

// readUntilClosed reads what the agent sends and reports whether it closed
// the connection before the deadline.
func readUntilClosed(c net.Conn, within time.Duration) (int64, bool) {
	_ = c.SetReadDeadline(time.Now().Add(within))
	n, err := io.Copy(io.Discard, c)
	return n, !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestSilentConnectionsAreCutAtTheAuthDeadline(t *testing.T) {
	addr, _ := runAgent(t, 300*time.Millisecond, time.Minute)
	var conns []net.Conn
	for i := 0; i < 10; i++ {
		conns = append(conns, dialAgent(t, addr))
	}
	for i, c := range conns {
		n, closed := readUntilClosed(c, 5*time.Second)
		if !closed || n != 41 {
			t.Fatalf("connection %d: closed %v after %d bytes (want the 41-byte challenge, then close)", i, closed, n)
		}
	}
}

// More unauthenticated connections than the agent holds are closed at once,
// and the user still gets in once they are gone.
func TestFloodIsBoundedAndTheUserStillGetsIn(t *testing.T) {
	addr, _ := runAgent(t, time.Second, time.Minute)
	var conns []net.Conn
	for i := 0; i < maxUnauthenticated+50; i++ {
		conns = append(conns, dialAgent(t, addr))
	}
	held := 0
	for _, c := range conns {
		if n, closed := readUntilClosed(c, 200*time.Millisecond); !closed && n == 41 {
			held++
		}
	}
	if held > maxUnauthenticated {
		t.Fatalf("%d unauthenticated connections held, at most %d allowed", held, maxUnauthenticated)
	}
	for _, c := range conns {
		c.Close()
	}
	sess := dialSession(t, addr)
	if _, err := sess.OpenStream(); err != nil {
		t.Fatalf("user after the flood: %v", err)
	}
}

// Only an authenticated session counts as use: an open connection that never
// authenticates does not keep the agent alive.
func TestIdleTimerIgnoresUnauthenticatedConnections(t *testing.T) {
	addr, done := runAgent(t, time.Minute, 200*time.Millisecond)
	c := dialAgent(t, addr)
	defer c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an unauthenticated connection kept the agent alive")
	}
}
