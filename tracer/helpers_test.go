package tracer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// result is what a run of a program shows a user.
type result struct {
	stdout string
	status Status
}

// runNative runs argv without the tracer.
func runNative(t *testing.T, dir string, argv ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", argv, err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return result{stdout: out.String(), status: Status{Signal: ws.Signal()}}
	}
	return result{stdout: out.String(), status: Status{Code: ws.ExitStatus()}}
}

// runTraced runs argv under the tracer with handler h (nil: allow all).
func runTraced(t *testing.T, h Handler, dir string, argv ...string) result {
	t.Helper()
	return runTracedWith(t, Config{Handler: h, Dir: dir}, argv...)
}

// runTracedWith runs argv under the tracer configured as cfg (its Path,
// Args and output are set here).
func runTracedWith(t *testing.T, cfg Config, argv ...string) result {
	t.Helper()
	_, r := traceFull(t, cfg, argv...)
	return r
}

// traceFull is runTracedWith that also returns the tracer, for its Stats.
func traceFull(t *testing.T, cfg Config, argv ...string) (*Tracer, result) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg.Path, cfg.Args, cfg.Stdout, cfg.Stderr = argv[0], argv, out, os.Stderr
	tr, err := Start(ctx, withEngine(cfg))
	if err != nil {
		t.Fatalf("trace %v: %v", argv, err)
	}
	st, err := tr.Wait()
	if err != nil {
		t.Fatalf("trace %v: %v", argv, err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return tr, result{stdout: string(b), status: st}
}

// withEngine is cfg under the engine the suite runs under.
func withEngine(cfg Config) Config {
	cfg.Engine = testEngine
	return cfg
}

// needPtrace skips when this process may not ptrace and load seccomp filters.
func needPtrace(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t)
}
