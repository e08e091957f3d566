package tracer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestEngineServesTheCalls: under the hybrid engine an intercepted
// program's calls are notified, not ptrace stops; under the ptrace engine
// they stop. Either way the program sees the same.
func TestEngineServesTheCalls(t *testing.T) {
	needPtrace(t)
	const original = "/etc/kubectl-mirror-test/app.conf"
	h := replacedFile(t, original, "substituted")
	tr, got := traceFull(t, Config{Handler: h}, progs.goStatic, "cat", original)
	if got.stdout != "substituted" || got.status != (Status{}) {
		t.Fatalf("got %+v", got)
	}
	st := tr.Stats()
	switch testEngine {
	case EngineHybrid:
		if st.NotifyInstalls != 1 || st.Notifications == 0 || st.SeccompStops != 0 || st.Emulated == 0 {
			t.Errorf("hybrid: stats %+v; want one filter with a listener, the calls notified and the open emulated, no seccomp stop", st)
		}
	case EnginePtrace:
		if st.NotifyInstalls != 0 || st.Notifications != 0 || st.SeccompStops == 0 {
			t.Errorf("ptrace: stats %+v; want every call a seccomp stop", st)
		}
	}
}

// TestHybridFallsBackToPtrace: where the kernel lacks what the hybrid
// engine needs (here a feature probe says so), a run asking for it runs on
// ptrace alone, says so at -v 1 (Info), and works.
func TestHybridFallsBackToPtrace(t *testing.T) {
	needPtrace(t)
	probe := hybridSupport
	hybridSupport = func() error { return errors.New("seccomp user notification is refused: ENOSYS") }
	defer func() { hybridSupport = probe }()
	const original = "/etc/kubectl-mirror-test/app.conf"
	h := replacedFile(t, original, "substituted")
	core, logs := observer.New(zap.InfoLevel)
	out := filepath.Join(t.TempDir(), "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	argv := []string{progs.goStatic, "cat", original}
	tr, err := Start(context.Background(), Config{Path: argv[0], Args: argv, Stdout: f, Handler: h, Engine: EngineHybrid, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := tr.Wait(); err != nil || st != (Status{}) {
		t.Fatalf("status %v, err %v", st, err)
	}
	if b, _ := os.ReadFile(out); string(b) != "substituted" {
		t.Fatalf("got %q", b)
	}
	if st := tr.Stats(); st.NotifyInstalls != 0 || st.Notifications != 0 || st.SeccompStops == 0 {
		t.Errorf("stats %+v: want ptrace alone", st)
	}
	if logs.FilterMessageSnippet("hybrid engine cannot run here").Len() != 1 {
		t.Errorf("the fallback was not told at Info: %v", logs.All())
	}
}

// TestHybridFallsBackPerProcess: a process whose filters already have a
// listener (a launcher installed one and keeps it across its exec) cannot
// get the hybrid engine's: that process falls back to ptrace, and its
// calls are still decided.
func TestHybridFallsBackPerProcess(t *testing.T) {
	needPtrace(t)
	if testEngine != EngineHybrid {
		t.Skip("the hybrid engine's fallback")
	}
	const original = "/etc/kubectl-mirror-test/app.conf"
	h := replacedFile(t, original, "substituted")
	// python3 runs as a launcher (no filter of ours), loads a filter with a
	// listener of its own (notifying acct, which nothing calls), keeps the
	// listener open across exec, and execs cat.
	script := `import ctypes, os, struct
libc = ctypes.CDLL(None, use_errno=True)
arch, nr = {"x86_64": (0xC000003E, 163), "aarch64": (0xC00000B7, 89)}[os.uname().machine]
ins = [(0x20, 0, 0, 4), (0x15, 0, 3, arch), (0x20, 0, 0, 0), (0x15, 0, 1, nr), (0x06, 0, 0, 0x7FC00000), (0x06, 0, 0, 0x7FFF0000)]
prog = b"".join(struct.pack("HBBI", *i) for i in ins)
buf = ctypes.create_string_buffer(prog)
fprog = struct.pack("HxxxxxxQ", len(ins), ctypes.addressof(buf))
fbuf = ctypes.create_string_buffer(fprog)
libc.prctl(38, 1, 0, 0, 0)
fd = libc.syscall(317 if arch == 0xC000003E else 277, 1, 8, fbuf)
assert fd >= 0, os.strerror(ctypes.get_errno())
os.set_inheritable(fd, True)
os.execvp("cat", ["cat", "` + original + `"])`
	// The interpreter itself, not a version manager's shim (a script that
	// would run it from an intercepted shell).
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatal(err)
	}
	python := strings.TrimSpace(string(out))
	tr, got := traceFull(t, Config{Handler: h, Policy: Policy{Launchers: []string{filepath.Base(python)}}}, python, "-c", script)
	if got.stdout != "substituted" || got.status != (Status{}) {
		t.Fatalf("got %+v", got)
	}
	if st := tr.Stats(); st.PtraceFallbacks != 1 || st.NotifyInstalls != 0 || st.SeccompStops == 0 {
		t.Errorf("stats %+v: want cat fallen back to ptrace", st)
	}
}

// TestChdirIntoAReplacedDirectory: a chdir to a directory only the pod has
// (replaced by the session's copy) changes the program's working
// directory, so relative paths and the cwd resolve there.
func TestChdirIntoAReplacedDirectory(t *testing.T) {
	needPtrace(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "file"), []byte("in the copy"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newRedirector()
	h.paths["/etc/kubectl-mirror-test/dir"] = dir
	script := `import os
os.chdir("/etc/kubectl-mirror-test/dir")
print(open("file").read(), os.path.exists("file"), os.getcwd() == os.path.realpath("` + dir + `"))`
	if got := runTraced(t, h, "", "python3", "-c", script); got.stdout != "in the copy True True\n" {
		t.Fatalf("got %+v", got)
	}
}

// exitRecorder lets every path call through and notes each one's result,
// as `kubectl mirror trace` does (exit work on every call).
type exitRecorder struct {
	mu      sync.Mutex
	results map[string]int64
}

func (r *exitRecorder) Socket(*Call) Verdict { return Allow() }
func (r *exitRecorder) Path(c *Call) Verdict {
	return Allow().AtExit(func(e *Exit) {
		r.mu.Lock()
		r.results[c.Syscall.String()+" "+c.RawPath] = e.Result
		r.mu.Unlock()
	})
}

// TestExitWorkSeesWhatTheProgramWould: calls that have exit work are made
// as the program made them: created files get its umask, relative paths
// resolve through symlinks from its working directory, /proc/self and
// /dev/fd are the program's, and the results are told to the exit work.
func TestExitWorkSeesWhatTheProgramWould(t *testing.T) {
	needPtrace(t)
	dir := t.TempDir()
	script := `import os
os.umask(0o027)
fd = os.open("created", os.O_CREAT | os.O_WRONLY, 0o666); os.close(fd)
print(oct(os.stat("created").st_mode & 0o777))
os.mkdir("a", 0o777); os.mkdir("a/b")
print(oct(os.stat("a").st_mode & 0o777))
open("a/x", "w").write("under a")
os.symlink("a/b", "s")
print(open("s/../x").read())
print(os.readlink("/proc/self/cwd") == os.getcwd(), open("/proc/self/comm").read().strip())
r, w = os.pipe(); os.write(w, b"through /dev/fd"); os.close(w)
print(open("/dev/fd/%d" % r).read())
try:
    os.readlink("a")
except OSError as e:
    print("readlink of a directory:", e.errno == 22)
print(os.path.realpath("s/../x") == os.path.join(os.getcwd(), "a", "x"))`
	want := "0o640\n0o750\nunder a\nTrue python3\nthrough /dev/fd\nreadlink of a directory: True\nTrue\n"
	native := runNative(t, filepath.Join(dir, mkdirs(t, dir, "native")), "python3", "-c", script)
	if native.stdout != want {
		t.Fatalf("native: %+v", native)
	}
	r := &exitRecorder{results: map[string]int64{}}
	got := runTraced(t, r, filepath.Join(dir, mkdirs(t, dir, "traced")), "python3", "-c", script)
	if got != native {
		t.Fatalf("traced %+v, native %+v", got, native)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range []string{"openat created", "openat s/../x", "mkdir a"} {
		if res, ok := r.results[k]; !ok || res < 0 {
			t.Errorf("%s: result %d, told %v; want a success told to the exit work (results %v)", k, res, ok, r.results)
		}
	}
}

func mkdirs(t *testing.T, dir, name string) string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestBlockingReceiveInterruptedAndRestarted: a blocking accept and
// recvfrom with exit work, interrupted again and again by a timer whose
// handler restarts them (SA_RESTART), each get their connection or
// datagram once, nothing lost.
func TestBlockingReceiveInterruptedAndRestarted(t *testing.T) {
	needPtrace(t)
	script := `import signal, socket, threading, time
signal.signal(signal.SIGALRM, lambda *a: None)
signal.siginterrupt(signal.SIGALRM, False)
signal.setitimer(signal.ITIMER_REAL, 0.01, 0.01)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
def later():
    time.sleep(0.3); socket.create_connection(srv.getsockname())
    for i in range(3):
        time.sleep(0.1); socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"d%d" % i, u.getsockname())
threading.Thread(target=later).start()
conn, peer = srv.accept()
print("accepted", peer)
print([u.recvfrom(100)[0] for _ in range(3)])
signal.setitimer(signal.ITIMER_REAL, 0)`
	want := "accepted ('192.0.2.99', 1234)\n[b'd0', b'd1', b'd2']\n"
	if got := runTraced(t, &peerRewriter{newRedirector()}, "", "python3", "-c", script); got.stdout != want || got.status != (Status{}) {
		t.Fatalf("got %+v, want %q", got, want)
	}
}

// A connect whose decision takes a while (the pod's dial) in a program
// whose signal handler asks for no restart (Python's), with a timer firing
// every 2 ms: every connect ends connected to where it was sent, as
// natively. A signal that ended the call's wait while the decision was
// being made left the socket unconnected, and Python, which then waits for
// it to be writable and reads SO_ERROR, took it for connected; its recv
// then failed with ENOTCONN.
func TestDecidedConnectSurvivesSignals(t *testing.T) {
	needPtrace(t)
	h := newRedirector()
	h.async, h.delay = true, 5*time.Millisecond
	h.route(unroutableTCP, tcpGreeter(t, "hi"))
	script := `import signal, socket
signal.signal(signal.SIGALRM, lambda *a: None)
signal.setitimer(signal.ITIMER_REAL, 0.002, 0.002)
ok, bad = 0, []
for i in range(40):
    s = socket.socket()
    try:
        s.connect(("` + unroutableTCP.Addr().String() + `", ` + strconv.Itoa(int(unroutableTCP.Port())) + `))
        if s.recv(10) == b"hi\n": ok += 1
        else: bad.append("short read")
    except OSError as e:
        bad.append(repr(e))
    s.close()
signal.setitimer(signal.ITIMER_REAL, 0)
print(ok, sorted(set(bad)))`
	if got := runTraced(t, h, "", "python3", "-c", script); got.stdout != "40 []\n" || got.status != (Status{}) {
		t.Fatalf("got %+v, want every connect connected", got)
	}
}

// Calls a signal never interrupts natively (a socket's addresses, its
// pending error) do not fail with EINTR under a timer firing every 0.5 ms,
// in a program whose handler asks for no restart.
func TestSocketQueriesAreNotInterrupted(t *testing.T) {
	needPtrace(t)
	script := `import signal, socket
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
c = socket.create_connection(srv.getsockname()); a, _ = srv.accept()
signal.signal(signal.SIGALRM, lambda *x: None)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
eintr = 0
for i in range(3000):
    try: c.getpeername(); c.getsockname(); c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    except InterruptedError: eintr += 1
signal.setitimer(signal.ITIMER_REAL, 0)
print("interrupted", eintr)`
	if got := runTraced(t, newRedirector(), "", "python3", "-c", script); got.stdout != "interrupted 0\n" || got.status != (Status{}) {
		t.Fatalf("got %+v, want no call interrupted", got)
	}
}
