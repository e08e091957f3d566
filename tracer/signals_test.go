package tracer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// startTraced starts argv under the tracer with stdout on a pipe.
func startTraced(t *testing.T, argv ...string) (*Tracer, *bufio.Reader) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	tr, err := Start(context.Background(), withEngine(Config{Path: argv[0], Args: argv, Stdout: w, Stderr: os.Stderr}))
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return tr, bufio.NewReader(r)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the program's output: %v (got %q)", err, line)
	}
	return strings.TrimSpace(line)
}

func TestProgramHandlesSignals(t *testing.T) {
	needPtrace(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		tr, out := startTraced(t, progs.goStatic, "signals")
		if got := readLine(t, out); got != "ready" {
			t.Fatalf("got %q", got)
		}
		if err := syscall.Kill(tr.PID(), sig); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, out); got != "got "+sig.String() {
			t.Errorf("program printed %q after %v", got, sig)
		}
		if st, err := tr.Wait(); err != nil || st != (Status{Code: 42}) {
			t.Errorf("after %v: status %v, err %v; want exit 42", sig, st, err)
		}
	}
}

// procState reads the one-letter state of pid from /proc.
func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return fields[0]
}

func TestStopAndContinue(t *testing.T) {
	needPtrace(t)
	tr, out := startTraced(t, "sh", "-c", `echo stopping; kill -STOP $$; echo resumed`)
	if got := readLine(t, out); got != "stopping" {
		t.Fatalf("got %q", got)
	}
	// The shell sits in a group stop until someone sends SIGCONT.
	testenv.Eventually(t, 10*time.Second, func() bool { st := procState(tr.PID()); return st == "t" || st == "T" },
		func() string { return fmt.Sprintf("program never stopped (state %q)", procState(tr.PID())) })
	if err := syscall.Kill(tr.PID(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, out); got != "resumed" {
		t.Fatalf("got %q after SIGCONT", got)
	}
	if st, err := tr.Wait(); err != nil || st != (Status{}) {
		t.Fatalf("status %v, err %v", st, err)
	}
}

func TestContextEndKillsEverything(t *testing.T) {
	needPtrace(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, w, _ := os.Pipe()
	defer r.Close()
	tr, err := Start(ctx, withEngine(Config{Path: "sh", Args: []string{"sh", "-c", "sleep 300 & echo $!; wait"}, Stdout: w}))
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	child, _ := strconv.Atoi(readLine(t, bufio.NewReader(r)))
	cancel()
	st, err := tr.Wait()
	if err != nil || st.Signal != syscall.SIGKILL {
		t.Fatalf("status %v, err %v; want killed", st, err)
	}
	// Gone, or a zombie waiting for its new parent to reap it.
	if st := procState(child); st != "" && st != "Z" {
		t.Fatalf("background child %d outlived the trace (state %s)", child, st)
	}
}

func TestNotFoundIsOneClearError(t *testing.T) {
	_, err := Start(context.Background(), Config{Path: "no-such-program-xyz", Args: []string{"no-such-program-xyz"}})
	if err == nil || !strings.Contains(err.Error(), "program not found: no-such-program-xyz") {
		t.Fatalf("got %v", err)
	}
	// A file that is there but may not be run is not "not found".
	src := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(src, []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), Config{Path: src, Args: []string{src}})
	if !errors.Is(err, ErrNotExecutable) || !strings.Contains(err.Error(), src) {
		t.Fatalf("a file without x: got %v, want %v naming it", err, ErrNotExecutable)
	}
}
