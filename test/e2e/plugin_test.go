//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// pluginRun is the one way the suite runs the built plugin, as a user
// would: from the laptop network namespace, with the harness's admin
// kubeconfig, this machine's environment and the test's directory, each
// changed by an option; run waits for the end, start and serving leave it
// running. The agent image is pulled from the harness's registry, as a
// user's nodes pull it (the default pull policy, IfNotPresent).
//
//	out, errOut, code := plugin(t, "run", "pod/x", "--", "true").run()
//	s := plugin(t, "run", "pod/x", "--incoming", "steal", "--", prog).env("XDG_CONFIG_HOME=" + home).serving()
type pluginRun struct {
	t     *testing.T
	args  []string
	kc    string        // the kubeconfig; "": the admin one (on the host: this process's)
	vars  []string      // KEY=VALUE added to the plugin's environment
	wd    string        // the plugin's working directory; "": the test's
	limit time.Duration // how long run lets it take
	host  bool          // on this machine's network, not the laptop's
	exe   string        // what runs in the plugin's place (a wrapper); "": bin/kubectl-mirror
	extra []*os.File    // descriptors 3 and up, as an IDE passes them
}

// plugin is `kubectl mirror ARGS...` (ARGS start with the command: "run",
// "ls", ...), to be run or started.
func plugin(t *testing.T, args ...string) *pluginRun {
	return &pluginRun{t: t, args: args, limit: 3 * time.Minute}
}

// kubeconfig runs it with KUBECONFIG=path (a user with fewer rights).
func (p *pluginRun) kubeconfig(path string) *pluginRun { p.kc = path; return p }

// env adds KEY=VALUE variables to the plugin's environment (and so to the
// program's, as a user's shell would).
func (p *pluginRun) env(kv ...string) *pluginRun { p.vars = append(p.vars, kv...); return p }

// dir runs it from the working directory d.
func (p *pluginRun) dir(d string) *pluginRun { p.wd = d; return p }

// timeout is how long run waits before killing it (3 minutes unless told).
func (p *pluginRun) timeout(d time.Duration) *pluginRun { p.limit = d; return p }

// onHost runs it on this machine's own network, where the cluster's
// addresses are reachable, with this process's KUBECONFIG unless
// kubeconfig names one.
func (p *pluginRun) onHost() *pluginRun { p.host = true; return p }

// via runs exe (a wrapper that runs the plugin) in the plugin's place.
func (p *pluginRun) via(exe string) *pluginRun { p.exe = exe; return p }

// files passes descriptors 3, 4, ... to it.
func (p *pluginRun) files(f ...*os.File) *pluginRun { p.extra = f; return p }

// command is the plugin's command line: env(1) sets the directory and the
// variables, laptop.sh enters the laptop namespace.
func (p *pluginRun) command(ctx context.Context) *exec.Cmd {
	p.t.Helper()
	argv := []string{"env"}
	if p.wd != "" {
		argv = append(argv, "-C", p.wd)
	}
	switch {
	case p.kc != "":
		argv = append(argv, "KUBECONFIG="+p.kc)
	case !p.host:
		argv = append(argv, "KUBECONFIG="+kubeconfig(p.t))
	}
	exe := p.exe
	if exe == "" {
		exe = filepath.Join(repoRoot(p.t), "bin", "kubectl-mirror")
	}
	argv = append(append(append(argv, p.vars...), exe), p.args...)
	if !p.host {
		argv = append([]string{laptopScript(p.t), "exec"}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.ExtraFiles = p.extra
	return cmd
}

// run runs it to its end (or the timeout) and returns its stdout, stderr
// and exit code; only a failure to start it fails the test.
func (p *pluginRun) run() (stdout, stderr string, code int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), p.limit)
	defer cancel()
	cmd := p.command(ctx)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		p.t.Fatalf("kubectl mirror %s: %v", strings.Join(p.args, " "), err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// start starts it and returns at once; the test's end kills it.
func (p *pluginRun) start() *session {
	p.t.Helper()
	s := &session{cmd: p.command(context.Background())}
	s.cmd.Stdout = lockedWriter{&s.mu, &s.stdout}
	s.cmd.Stderr = lockedWriter{&s.mu, &s.stderr}
	// A process the plugin left behind would hold its output open, and a
	// failing test would wait for it forever.
	s.cmd.WaitDelay = 10 * time.Second
	if err := s.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
	return s
}

// serving starts `run` and waits until the pod's port is served to the
// program (incoming).
func (p *pluginRun) serving() *session {
	p.t.Helper()
	s := p.start()
	testenv.Eventually(p.t, 90*time.Second, func() bool { return strings.Contains(s.err(), "the pod's port") }, s.err)
	return s
}

// session is a plugin left running.
type session struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func (s *session) out() string { s.mu.Lock(); defer s.mu.Unlock(); return s.stdout.String() }
func (s *session) err() string { s.mu.Lock(); defer s.mu.Unlock(); return s.stderr.String() }

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// stop sends SIGTERM (forwarded to the program) and waits for the plugin.
func (s *session) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	s.ended(t, "SIGTERM", 30*time.Second)
}

// ended waits up to limit for a plugin that was signalled or killed (how,
// for the failure), and fails the test if it goes on.
func (s *session) ended(t *testing.T, how string, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		t.Fatalf("the plugin did not end after %s\n%s", how, s.err())
	}
}
