//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// A client of Delve's JSON-RPC API (version 2), as an IDE attaching to
// `dlv --headless` speaks it; only the fields the tests read are declared.
type dlvClient struct{ c *rpc.Client }

type dlvBreakpoint struct {
	ID           int    `json:"id"`
	FunctionName string `json:"functionName,omitempty"`
}

type dlvState struct {
	Exited        bool `json:"exited"`
	ExitStatus    int  `json:"exitStatus"`
	CurrentThread *struct {
		Breakpoint *dlvBreakpoint `json:"breakPoint"`
	} `json:"currentThread"`
}

type dlvVariable struct {
	Value string `json:"value"`
}

// dlvAddr waits for the headless server's address on the session's output.
func dlvAddr(t *testing.T, s *session) string {
	t.Helper()
	re := regexp.MustCompile(`API server listening at: (\S+)`)
	var addr string
	testenv.Eventually(t, 4*time.Minute, func() bool {
		if m := re.FindStringSubmatch(s.out()); m != nil {
			addr = m[1]
			return true
		}
		return false
	}, func() string { return "dlv did not listen:\n" + s.out() + s.err() })
	return addr
}

func dialDlv(t *testing.T, addr string) *dlvClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &dlvClient{rpc.NewClientWithCodec(jsonrpc.NewClientCodec(conn))}
	t.Cleanup(func() { c.c.Close() })
	return c
}

func (d *dlvClient) call(t *testing.T, method string, in, out any) {
	t.Helper()
	if err := d.c.Call("RPCServer."+method, in, out); err != nil {
		t.Fatalf("dlv %s: %v", method, err)
	}
}

// breakAt sets a breakpoint on a function.
func (d *dlvClient) breakAt(t *testing.T, fn string) {
	t.Helper()
	var out struct{ Breakpoint dlvBreakpoint }
	d.call(t, "CreateBreakpoint", map[string]any{"Breakpoint": dlvBreakpoint{FunctionName: fn}}, &out)
}

// cont continues the program until it stops or exits.
func (d *dlvClient) cont(t *testing.T) dlvState {
	t.Helper()
	var out struct{ State dlvState }
	d.call(t, "Command", map[string]string{"name": "continue"}, &out)
	return out.State
}

// eval reads an expression in the stopped goroutine's frame (a string's
// value as it is, not quoted).
func (d *dlvClient) eval(t *testing.T, expr string) string {
	t.Helper()
	var out struct{ Variable dlvVariable }
	in := map[string]any{
		"Scope": map[string]int{"GoroutineID": -1},
		"Expr":  expr,
		"Cfg":   map[string]int{"MaxStringLen": 4096, "MaxVariableRecurse": 1, "MaxArrayValues": 64, "MaxStructFields": -1},
	}
	d.call(t, "Eval", in, &out)
	return out.Variable.Value
}

// detach ends the debugger, killing the program if it still runs (Delve
// detaches only from a stopped program: halt it first).
func (d *dlvClient) detach(t *testing.T) {
	t.Helper()
	_ = d.c.Call("RPCServer.Command", map[string]string{"name": "halt"}, &struct{ State dlvState }{})
	_ = d.c.Call("RPCServer.Detach", map[string]bool{"Kill": true}, &struct{}{})
}

// dlvRun starts `kubectl mirror run TARGET -- dlv MODE --headless ...` in
// dir from the laptop namespace, listening where this test reaches it.
func dlvRun(t *testing.T, dir, target string, args ...string) (*session, *dlvClient) {
	t.Helper()
	head := []string{dlvPath(t), args[0], "--headless", "--listen=" + laptopAddr + ":0", "--api-version=2"}
	cmd := append([]string{"run", target, "--"}, append(head, args[1:]...)...)
	s := plugin(t, cmd...).dir(dir).start()
	return s, dialDlv(t, dlvAddr(t, s))
}

// dlvPath is Delve, built once by the harness.
func dlvPath(t *testing.T) string {
	t.Helper()
	dlv, err := testbin.Path("dlv")
	if err != nil {
		t.Fatal(err)
	}
	return dlv
}

// dlvServingSteal starts the HTTP server under `dlv exec --continue`, the
// target pod's port 8080 stolen to it.
func dlvServingSteal(t *testing.T, target string) *session {
	t.Helper()
	programs(t)
	return plugin(t, "run", "pod/"+target, "--incoming", "steal", "--", dlvPath(t), "exec", "--headless", "--continue",
		"--accept-multiclient", "--listen="+laptopAddr+":0", "--api-version=2", testProgs.httpserve, "--", "8080").serving()
}

// waitEnd waits for the plugin to exit after the debugger did.
func (s *session) waitEnd(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("the plugin did not end with its debugger\n%s", s.err())
	}
	return s.cmd.ProcessState.ExitCode()
}

// buildDebuggable builds test/programs/dlvtarget static, without
// optimizations or inlining, as a debugger wants it.
func buildDebuggable(t *testing.T) string {
	t.Helper()
	prog := filepath.Join(t.TempDir(), "dlvtarget")
	build := exec.Command("go", "build", "-gcflags=all=-N -l", "-o", prog, ".")
	build.Dir, build.Env = dlvTargetDir(), append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	return prog
}

func dlvTargetDir() string { return filepath.Join(testbin.Repo(), "test", "programs", "dlvtarget") }

// TestDlvExecDebugsAProgramInThePodsWorld: a static Go program started by
// `dlv exec` under the plugin stops at a breakpoint after its request: the
// response names the target pod as the caller, and the file and variable
// it read there are the pod's ConfigMap and environment.
func TestDlvExecDebugsAProgramInThePodsWorld(t *testing.T) {
	target, other := echoPods(t)
	prog := buildDebuggable(t)
	s, d := dlvRun(t, t.TempDir(), "pod/"+target.name, "exec", prog, "--",
		"http://"+other.ip+":8080/dlv-exec", "/etc/echo/config/app.conf")
	d.breakAt(t, "main.report")
	st := d.cont(t)
	if st.Exited || st.CurrentThread == nil || st.CurrentThread.Breakpoint == nil {
		t.Fatalf("the program did not stop at main.report: %+v\n%s", st, s.err())
	}
	checkCaller(t, d.eval(t, "body"), target.name, target.ip)
	if got := d.eval(t, "config"); !strings.Contains(got, "greeting") {
		t.Errorf("config at the breakpoint = %s, want the pod's ConfigMap file", got)
	}
	if got := d.eval(t, "literal"); got != "literal-value" {
		t.Errorf("LITERAL at the breakpoint = %s, want the pod's literal-value", got)
	}
	if got := d.eval(t, "err == nil"); got != "true" {
		t.Errorf("err == nil is %s", got)
	}
	if st := d.cont(t); !st.Exited || st.ExitStatus != 0 {
		t.Fatalf("after the breakpoint: %+v", st)
	}
	d.detach(t)
	if code := s.waitEnd(t); code != 0 {
		t.Fatalf("plugin exit %d\n%s", code, s.err())
	}
	// The closing summary counts the debuggee's connection as any other.
	if !strings.Contains(s.err(), "1 connection through the pod") {
		t.Fatalf("no summary of the debuggee's traffic:\n%s", s.err())
	}
}

// TestDlvDebugAndDlvTestBuildNativeAndDebugInThePod: `dlv debug` and
// `dlv test` build with this machine's toolchain (go runs native under the
// debugger) and the program or test they build resolves and dials a
// Service through the pod.
func TestDlvDebugAndDlvTestBuildNativeAndDebugInThePod(t *testing.T) {
	target, _ := echoPods(t)
	for _, tc := range []struct {
		mode []string
		fn   string // main is named by its import path in a test binary
	}{
		{[]string{"debug", ".", "--", "http://echo/dlv-debug", "/etc/echo/config/app.conf"}, "main.report"},
		{[]string{"test", ".", "--", "-test.run", "TestDialsAService"}, "example.com/dlvtarget.report"},
	} {
		// The binary Delve builds goes to a temporary directory, not beside
		// the source, where a run killed midway would leave it.
		out := "--output=" + filepath.Join(t.TempDir(), "debuggee")
		mode := append([]string{tc.mode[0], tc.mode[1], out}, tc.mode[2:]...)
		s, d := dlvRun(t, dlvTargetDir(), "pod/"+target.name, mode...)
		d.breakAt(t, tc.fn)
		st := d.cont(t)
		if st.Exited || st.CurrentThread == nil || st.CurrentThread.Breakpoint == nil {
			t.Fatalf("dlv %s: the program did not stop at main.report: %+v\n%s", mode[0], st, s.err())
		}
		checkCaller(t, d.eval(t, "body"), target.name, target.ip)
		if st := d.cont(t); !st.Exited || st.ExitStatus != 0 {
			t.Fatalf("dlv %s: after the breakpoint: %+v", mode[0], st)
		}
		d.detach(t)
		if code := s.waitEnd(t); code != 0 {
			t.Fatalf("dlv %s: plugin exit %d\n%s", mode[0], code, s.err())
		}
	}
}

// TestDlvProgramServesStolenRequests: a server started by dlv gets the
// pod's stolen requests and sees the real client as their peer (accept is
// made for it by the notification engine).
func TestDlvProgramServesStolenRequests(t *testing.T) {
	target, _ := echoPods(t)
	toolbox, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), "toolbox", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := dlvServingSteal(t, target.name)
	out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/debugged")
	var reply struct {
		Local  bool   `json:"local"`
		Remote string `json:"remote"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &reply); err != nil || !reply.Local {
		t.Fatalf("not stolen: %q %v\n%s", out, err, s.err())
	}
	if host, _, _ := strings.Cut(reply.Remote, ":"); host != toolbox.Status.PodIP {
		t.Fatalf("the program saw %s as the client, want the toolbox pod %s", reply.Remote, toolbox.Status.PodIP)
	}
	d := dialDlv(t, dlvAddr(t, s))
	d.detach(t)
	if code := s.waitEnd(t); code != 0 {
		t.Fatalf("plugin exit %d\n%s", code, s.err())
	}
	if !strings.Contains(s.out(), "got GET /debugged") {
		t.Fatalf("the program did not print the request:\n%s", s.out())
	}
}

// TestKillNineWhileDebuggingLeavesNothing: the plugin killed while dlv's
// program serves stolen requests takes dlv (PTRACE_O_EXITKILL) and the
// program (PR_SET_PDEATHSIG) with it, and the pod gets its port back.
func TestKillNineWhileDebuggingLeavesNothing(t *testing.T) {
	target, _ := echoPods(t)
	s := dlvServingSteal(t, target.name)
	dlv := dlvPath(t)
	if out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/before"); !strings.Contains(out, `"local":true`) {
		t.Fatalf("not stolen: %q\n%s", out, s.err())
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	testenv.Eventually(t, 10*time.Second, func() bool { return len(running(dlv, testProgs.httpserve)) == 0 },
		func() string { return fmt.Sprintf("still running: %v", running(dlv, testProgs.httpserve)) })
	checkRestored(t, target.name, target.ip)
}

// running lists the live processes (not zombies) running one of exes.
func running(exes ...string) []string {
	var found []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		exe, err := os.Readlink("/proc/" + d.Name() + "/exe")
		if err != nil || !slices.Contains(exes, exe) {
			continue
		}
		found = append(found, d.Name()+" "+filepath.Base(exe))
	}
	return found
}

// TestDebuggedProgramFollowsTheWorkload: under gdb, the program's session
// moves to another pod when its pod is deleted, as without a debugger.
func TestDebuggedProgramFollowsTheWorkload(t *testing.T) {
	netprobe, _, _ := programs(t)
	followsTheWorkload(t, "gdb", "-nx", "-batch", "-ex", "run", "--args", netprobe)
}
