package tracer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
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

// TestNotifyEngineMatchesPtrace runs the redirect suite's programs under
// both engines: the same handler decisions give the same results.
func TestNotifyEngineMatchesPtrace(t *testing.T) {
	needPtrace(t)
	dir := t.TempDir()
	substitute := filepath.Join(dir, "substitute.conf")
	content := "substituted content, 40 bytes long.....\n"
	if err := os.WriteFile(substitute, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	const original = "/etc/kubectl-mirror-test/app.conf"
	for _, async := range []bool{false, true} {
		h := newRedirector()
		h.async = async
		h.route(unroutableTCP, tcpGreeter(t, "hello from the stand-in"))
		h.route(unroutableUDP, udpEcho(t))
		h.refuse[closedTCP] = true
		h.paths[original] = substitute
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
	substitute := filepath.Join(t.TempDir(), "sub.txt")
	if err := os.WriteFile(substitute, []byte("substituted"), 0o644); err != nil {
		t.Fatal(err)
	}
	const original = "/etc/kubectl-mirror-test/fork.txt"
	h := newRedirector()
	h.paths[original] = substitute
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
