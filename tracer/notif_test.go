package tracer

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// debugged runs argv under the smallest debugger (ptrace, then exec), so
// its calls are served by the notification engine.
func debugged(t *testing.T, h Handler, argv ...string) (result, Stats) {
	t.Helper()
	dbg, err := testbin.Path("ptraceparent")
	if err != nil {
		t.Fatal(err)
	}
	policy := Policy{Debuggers: []string{"ptraceparent"}}
	tr, got := traceFull(t, Config{Handler: h, Policy: policy}, append([]string{dbg}, argv...)...)
	st := tr.Stats()
	if st.Handoffs != 1 {
		t.Fatalf("%v: %d handoffs, want 1", argv, st.Handoffs)
	}
	return got, st
}

// onBothEngines runs argv under the ptrace engine and handed to the
// notification engine: the first must print want, the second the same.
// It returns the notification engine's counters.
func onBothEngines(t *testing.T, h Handler, want string, argv ...string) Stats {
	t.Helper()
	viaPtrace := runTraced(t, h, "", argv...)
	viaNotify, st := debugged(t, h, argv...)
	if viaPtrace.stdout != want {
		t.Errorf("ptrace engine: got %q, want %q", viaPtrace.stdout, want)
	}
	if viaNotify != viaPtrace {
		t.Errorf("notification engine %+v, ptrace engine %+v", viaNotify, viaPtrace)
	}
	return st
}

// TestNotifyEngineMatchesPtrace runs the redirect suite's programs under
// both engines: the same handler decisions give the same results.
func TestNotifyEngineMatchesPtrace(t *testing.T) {
	needPtrace(t)
	const original = "/etc/kubectl-mirror-test/app.conf"
	const content = "substituted content, 40 bytes long.....\n"
	for _, async := range []bool{false, true} {
		h := replacedFile(t, original, content)
		h.async = async
		h.route(unroutableTCP, tcpGreeter(t, "hello from the stand-in"))
		h.route(unroutableUDP, udpEcho(t))
		h.refuse[closedTCP] = true
		for _, tc := range []struct {
			argv []string
			want string // how the output both engines give starts
		}{
			{[]string{progs.goStatic, "tcp", unroutableTCP.String()}, "peer 192.0.2.10:80\nread hello from the stand-in\n"},
			{[]string{progs.goCgo, "tcp", unroutableTCP.String()}, "peer 192.0.2.10:80\nread hello from the stand-in\n"},
			{[]string{progs.cGlibc, "tcp", unroutableTCP.Addr().String(), "80"}, "peer 192.0.2.10:80\nread hello from the stand-in\n"},
			{[]string{progs.cMusl, "tcp", unroutableTCP.Addr().String(), "80"}, "peer 192.0.2.10:80\nread hello from the stand-in\n"},
			{[]string{progs.cGlibc, "tcp", closedTCP.Addr().String(), "81"}, ""},
			{[]string{progs.goStatic, "udp", unroutableUDP.String(), "ping"}, "from 192.0.2.53:53\nreply echo:ping\n"},
			{[]string{progs.cGlibc, "udp", unroutableUDP.Addr().String(), "53", "ping"}, "from 192.0.2.53:53\nreply echo:ping\n"},
			{[]string{progs.cMusl, "udp", unroutableUDP.Addr().String(), "53", "ping"}, "from 192.0.2.53:53\nreply echo:ping\n"},
			{[]string{progs.goStatic, "cat", original}, content},
			{[]string{progs.cMusl, "cat", original}, content},
			{[]string{progs.goStatic, "stat", original}, "size 40\n"},
			{[]string{"python3", "-c", "import os; print(open('" + original + "').read(), end=''); print('size', os.stat('" + original + "').st_size)"}, content + "size 40\n"},
		} {
			name := filepath.Base(tc.argv[0]) + " " + tc.argv[1]
			viaPtrace := runTraced(t, h, "", tc.argv...)
			viaNotify, st := debugged(t, h, tc.argv...)
			if viaNotify != viaPtrace {
				t.Errorf("async=%v %s: notification engine %+v, ptrace engine %+v", async, name, viaNotify, viaPtrace)
			}
			if !strings.HasPrefix(viaNotify.stdout, tc.want) {
				t.Errorf("async=%v %s: got %q, want %q", async, name, viaNotify.stdout, tc.want)
			}
			if st.Notifications == 0 {
				t.Errorf("%s: no call went through the notification engine", name)
			}
		}
	}
}

// TestDebuggeeChildrenAndThreadsAreServed: the filter and its listener are
// inherited by the debuggee's children and shared by its threads.
func TestDebuggeeChildrenAndThreadsAreServed(t *testing.T) {
	needPtrace(t)
	const original = "/etc/kubectl-mirror-test/fork.txt"
	h := replacedFile(t, original, "substituted")
	script := `import os, subprocess, threading
P = "` + original + `"
print("parent", open(P).read(), flush=True)
pid = os.fork()
if pid == 0:
    print("child", open(P).read(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print(subprocess.run(["cat", P], capture_output=True, text=True).stdout, flush=True)
out = []
ts = [threading.Thread(target=lambda: out.append(open(P).read())) for _ in range(16)]
[x.start() for x in ts]; [x.join() for x in ts]
print("threads", len(out), set(out))`
	got, _ := debugged(t, h, "python3", "-c", script)
	want := "parent substituted\nchild substituted\nsubstituted\nthreads 16 {'substituted'}\n"
	if got.status != (Status{}) || got.stdout != want {
		t.Fatalf("got %+v, want %q", got, want)
	}
	if strings.Contains(got.stdout, "No such file") {
		t.Fatal("a child read this machine's (missing) file")
	}
}

// TestNotifyEmulatesEveryReplacedPathCall: tools that stat, statx, access,
// readlink, statfs and read a replaced path see the same answers under
// both engines.
func TestNotifyEmulatesEveryReplacedPathCall(t *testing.T) {
	needPtrace(t)
	dir := t.TempDir()
	substitute := filepath.Join(dir, "substitute.conf")
	if err := os.WriteFile(substitute, []byte("twelve bytes"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("..data/app.conf", link); err != nil {
		t.Fatal(err)
	}
	const original, originalLink = "/etc/kubectl-mirror-test/app.conf", "/etc/kubectl-mirror-test/link"
	h := newRedirector()
	h.paths[original] = substitute
	h.paths[originalLink] = link
	script := `P=` + original + `
stat -c '%s %a %F' $P
stat -L -c '%s' $P
test -r $P && echo readable
test -x $P || echo not-executable
readlink ` + originalLink + `
head -c 6 $P; echo
df --output=target $P >/dev/null && echo statfs-ok
python3 -c "import os; st=os.stat('$P'); print(st.st_size, os.access('$P', os.R_OK), os.path.exists('$P'))"
python3 -c "
import os
try: os.getxattr('$P', 'user.none')
except OSError as e: print('getxattr', e.errno)"`
	want := "12 640 regular file\n12\nreadable\nnot-executable\n..data/app.conf\ntwelve\nstatfs-ok\n12 True True\ngetxattr 61\n"
	if st := onBothEngines(t, h, want, "sh", "-c", script); st.Emulated == 0 {
		t.Error("no call was emulated")
	}
}

// peerRewriter shows every accepted connection's peer as 192.0.2.99:1234,
// as incoming traffic from the pod shows its client.
type peerRewriter struct{ *redirector }

func (p *peerRewriter) Socket(c *Call) Verdict {
	if c.Syscall == SysAccept || c.Syscall == SysAccept4 {
		return Allow().AtExit(func(e *Exit) {
			if e.Result >= 0 {
				e.SetResultAddr(netip.MustParseAddrPort("192.0.2.99:1234"))
			}
		})
	}
	return p.redirector.Socket(c)
}

// TestNotifyBlockingSocketCalls: a blocking accept gets its connection and
// the rewritten peer; a blocking recvfrom interrupted by a signal loses no
// datagram; SO_RCVTIMEO ends a blocking recvfrom as the kernel would.
func TestNotifyBlockingSocketCalls(t *testing.T) {
	needPtrace(t)
	script := `import signal, socket, struct, threading, time
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
threading.Thread(target=lambda: (time.sleep(0.3), socket.create_connection(srv.getsockname()))).start()
conn, peer = srv.accept()
print("accepted", peer, conn.getblocking())
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
signal.signal(signal.SIGALRM, lambda *a: print("alarm", flush=True))
signal.setitimer(signal.ITIMER_REAL, 0.3)
def later():
    time.sleep(0.8)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"ping", u.getsockname())
threading.Thread(target=later).start()
data, src = u.recvfrom(100)
print("got", data)
u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
try: u.recvfrom(100)
except OSError as e: print("timeout errno", e.errno)`
	want := "accepted ('192.0.2.99', 1234) True\nalarm\ngot b'ping'\ntimeout errno 11\n"
	onBothEngines(t, &peerRewriter{newRedirector()}, want, "python3", "-c", script)
}

// TestGdbRunsItsProgramInThePodsWorld: gdb starts its program through a
// shell after PTRACE_TRACEME; the program's connect is redirected.
func TestGdbRunsItsProgramInThePodsWorld(t *testing.T) {
	needPtrace(t)
	if _, err := exec.LookPath("gdb"); err != nil {
		t.Fatal("gdb is not installed; test/cluster/install-deps.sh installs it")
	}
	h := newRedirector()
	h.route(unroutableTCP, tcpGreeter(t, "hello from the stand-in"))
	policy := DefaultPolicy()
	tr, got := traceFull(t, Config{Handler: h, Policy: policy}, "gdb", "-nx", "-batch", "-ex", "run", "--args", progs.goStatic, "tcp", unroutableTCP.String())
	if !strings.Contains(got.stdout, "peer 192.0.2.10:80\nread hello from the stand-in\n") || got.status != (Status{}) {
		t.Fatalf("got %+v", got)
	}
	// gdb also forks children of its own that ask to be traced (its ptrace
	// feature checks): each is handed over too.
	if st := tr.Stats(); st.Handoffs == 0 || st.Notifications == 0 {
		t.Fatalf("stats %+v: want the program handed over and served", st)
	}
}

// TestNotifyAnswersUnameWithThePodsName: uname is answered by the tracer
// itself under both engines.
func TestNotifyAnswersUnameWithThePodsName(t *testing.T) {
	needPtrace(t)
	dbg, err := testbin.Path("ptraceparent")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Hostname: "echo-7d9f-abcde", Policy: Policy{Debuggers: []string{"ptraceparent"}}}
	for _, argv := range [][]string{{"uname", "-n"}, {dbg, "uname", "-n"}, {dbg, "python3", "-c", "import socket; print(socket.gethostname())"}} {
		if got := runTracedWith(t, cfg, argv...); got.stdout != "echo-7d9f-abcde\n" {
			t.Errorf("%v: got %+v", argv, got)
		}
	}
}

// TestHeldCallInterruptedBySignalsIsDecidedOnce: a blocking connect held for
// a 300 ms decision while a 5 ms timer (SA_RESTART) interrupts it again and
// again is asked of the Handler once under either engine, and connects.
func TestHeldCallInterruptedBySignalsIsDecidedOnce(t *testing.T) {
	needPtrace(t)
	for _, viaNotify := range []bool{false, true} {
		h := newRedirector()
		h.async, h.delay = true, 300*time.Millisecond
		h.route(unroutableTCP, tcpGreeter(t, "hello from the stand-in"))
		argv := []string{progs.cGlibc, "tcp-ticking", unroutableTCP.Addr().String(), "80"}
		var got result
		if viaNotify {
			got, _ = debugged(t, h, argv...)
		} else {
			got = runTraced(t, h, "", argv...)
		}
		if got.stdout != "peer 192.0.2.10:80\nread hello from the stand-in\n" {
			t.Errorf("notification engine=%v: got %+v", viaNotify, got)
		}
		if n := h.calls[SysConnect]; n != 1 {
			t.Errorf("notification engine=%v: the handler was asked %d times for one connect", viaNotify, n)
		}
	}
}

// TestDebuggeesDaemonEndsWithTheSession: a process the debuggee starts in a
// session of its own outlives the debugger; it is ended with the program,
// as under ptrace, and the trace does not wait for it.
func TestDebuggeesDaemonEndsWithTheSession(t *testing.T) {
	needPtrace(t)
	script := `import subprocess
d = subprocess.Popen(["python3", "-c", "import time; open('/etc/hostname').read(); time.sleep(600)"], start_new_session=True)
print(d.pid, flush=True)
import time; time.sleep(1)`
	done := make(chan result, 1)
	go func() {
		got, _ := debugged(t, nil, "python3", "-c", script)
		done <- got
	}()
	select {
	case got := <-done:
		pid, err := strconv.Atoi(strings.TrimSpace(got.stdout))
		if err != nil {
			t.Fatalf("got %+v", got)
		}
		t.Cleanup(func() {
			if alive(pid) {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		})
		// Killed, it may still be exiting for a moment.
		testenv.Eventually(t, 10*time.Second, func() bool { return !alive(pid) },
			func() string { return fmt.Sprintf("the daemon %d outlived the session", pid) })
	case <-time.After(60 * time.Second):
		t.Fatal("the trace waited for the debuggee's daemon")
	}
}

// alive: pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	return err == nil && !strings.Contains(string(b), ") Z ")
}
