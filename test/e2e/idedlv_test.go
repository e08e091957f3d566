//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// TestIDEDebugsThroughTheDlvWrapper: VS Code's Go extension, with
// go.alternateTools {"dlv": <the wrapper>}, starts the wrapper with Delve's
// own arguments only (dap --listen=127.0.0.1:PORT --log-dest=3, a pipe on
// fd 3) from the program's directory, waits for "DAP server listening at:"
// and speaks DAP. The project file of the repository names deploy/echo; a
// line breakpoint stops the program (mode debug) and its test (mode test)
// with the pod's environment, file and network in the frame, and at the
// disconnect Delve, the program and the plugin are all gone.
func TestIDEDebugsThroughTheDlvWrapper(t *testing.T) {
	a, b := echoPods(t)
	ips := map[string]string{a.name: a.ip, b.name: b.ip}
	dlv := dlvPath(t)
	for _, mode := range []string{"debug", "test"} {
		t.Run(mode, func(t *testing.T) { ideDebugSession(t, dlv, mode, ips) })
	}
}

// pickedPod finds the pod the plugin says it picked.
var pickedPod = regexp.MustCompile(`target deployment/echo: pod/([^,]+),`)

func ideDebugSession(t *testing.T, dlv, mode string, podIPs map[string]string) {
	repo, module := ideRepo(t)
	// The wrapper as a user installs it: named dlv, first on PATH, so the
	// plugin must pass over it for Delve itself.
	wrapperDir := t.TempDir()
	wrapper := filepath.Join(wrapperDir, "dlv")
	if err := os.Symlink(filepath.Join(repoRoot(t), "hack", "mirror-dlv"), wrapper); err != nil {
		t.Fatal(err)
	}
	path := strings.Join([]string{wrapperDir, filepath.Join(repoRoot(t), "bin"), filepath.Dir(dlv), os.Getenv("PATH")}, string(filepath.ListSeparator))
	logR, logW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var fd3 lockedBuffer
	go func() { _, _ = io.Copy(&fd3, logR) }()
	defer logR.Close()
	port := freeLaptopLoopbackPort(t)
	s := plugin(t, "dap", "--listen=127.0.0.1:"+port, "--log-dest=3").via(wrapper).files(logW).env("PATH=" + path).dir(module).start()
	logW.Close()

	// The extension takes the server as started when a chunk of stdout or
	// of fd 3 starts with this line.
	const listening = "DAP server listening at: "
	testenv.Eventually(t, 2*time.Minute, func() bool { return strings.Contains(s.out()+fd3.String(), listening) },
		func() string { return "dlv dap did not say it listens:\n" + s.out() + fd3.String() + s.err() })
	if !strings.HasPrefix(s.out(), listening) && !strings.HasPrefix(fd3.String(), listening) {
		t.Fatalf("stdout %q and fd 3 %q do not start with %q", s.out(), fd3.String(), listening)
	}
	if !strings.Contains(s.err(), "settings from "+filepath.Join(repo, ".kubectl-mirror.yaml")) {
		t.Fatalf("the project file was not used:\n%s", s.err())
	}
	conn := inLaptopNetns(t, func() (net.Conn, error) { return net.DialTimeout("tcp", "127.0.0.1:"+port, 10*time.Second) })
	defer conn.Close()
	d := &dapClient{t: t, conn: conn, r: bufio.NewReader(conn)}

	d.call("initialize", map[string]any{"clientID": "vscode", "adapterID": "go", "pathFormat": "path",
		"linesStartAt1": true, "columnsStartAt1": true, "supportsRunInTerminalRequest": true}, nil)
	launch := map[string]any{"request": "launch", "mode": mode, "program": module, "name": "Launch Package",
		"args": []string{"http://echo/ide-" + mode, "/etc/echo/config/app.conf"}}
	if mode == "test" {
		launch["args"] = []string{"-test.run", "TestDialsAService", "-test.v"}
	}
	d.send("launch", launch)
	d.await("event", "initialized")
	source := filepath.Join(module, "main.go")
	var set struct {
		Breakpoints []struct {
			Verified bool   `json:"verified"`
			Message  string `json:"message"`
		} `json:"breakpoints"`
	}
	d.call("setBreakpoints", map[string]any{"source": map[string]string{"name": "main.go", "path": source},
		"breakpoints": []map[string]int{{"line": lineOf(t, source, "fmt.Println(body)")}}}, &set)
	if len(set.Breakpoints) != 1 || !set.Breakpoints[0].Verified {
		t.Fatalf("breakpoint not verified: %+v", set.Breakpoints)
	}
	d.call("configurationDone", map[string]any{}, nil)
	stopped := d.stopped()
	if stopped.Reason != "breakpoint" || !strings.HasSuffix(stopped.Frame.Name, ".report") {
		t.Fatalf("stopped (%s) at %+v, want the breakpoint in report\n%s", stopped.Reason, stopped.Frame, s.err())
	}
	// The program and Delve run now; they must be gone after the disconnect.
	procs := processesRunning(dlv, module)
	if len(procs) < 2 {
		t.Fatalf("Delve and the program are not both found running: %v", procs)
	}
	eval := func(expr string) string { return d.evaluate(stopped.Frame.ID, "watch", expr) }
	if got := eval("literal"); got != "literal-value" {
		t.Errorf("LITERAL = %q, want the pod's literal-value", got)
	}
	if got := eval("config"); mode == "debug" && !strings.Contains(got, "greeting") {
		t.Errorf("config = %q, want the pod's ConfigMap file", got)
	}
	picked := pickedPod.FindStringSubmatch(s.err())
	if picked == nil {
		t.Fatalf("no pod picked:\n%s", s.err())
	}
	checkCaller(t, eval("body"), picked[1], podIPs[picked[1]])
	d.call("continue", map[string]any{"threadId": stopped.ThreadID}, nil)
	d.await("event", "terminated")
	d.call("disconnect", map[string]any{"terminateDebuggee": true}, nil)
	if code := s.waitEnd(t); code != 0 {
		t.Fatalf("plugin exit %d\n%s", code, s.err())
	}
	// The program's output, which the IDE shows: it ran with the pod's
	// environment and reached a pod through the Service.
	if out := s.out(); !strings.Contains(out, "literal-value") || !strings.Contains(out, `"pod":"echo-`) {
		t.Errorf("the program's output lacks the pod's env or answer:\n%s", out)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return len(processesRunning(dlv, module)) == 0 },
		func() string { return fmt.Sprintf("left running: %v", processesRunning(dlv, module)) })
}

// ideRepo writes a repository whose project file names deploy/echo, with
// the debugged module (test/programs/dlvtarget) in a directory whose name
// has a space, and returns both directories.
func ideRepo(t *testing.T) (repo, module string) {
	files := map[string]string{
		".git/HEAD":            "ref: refs/heads/main\n",
		".kubectl-mirror.yaml": "target: deploy/echo\nnamespace: default\n",
	}
	for _, name := range []string{"go.mod", "main.go", "main_test.go"} {
		b, err := os.ReadFile(filepath.Join(dlvTargetDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		files["services/my app/"+name] = string(b)
	}
	repo = testenv.WriteFiles(t, files)
	return repo, filepath.Join(repo, "services", "my app")
}

// lineOf is the line number of the first line of file containing text.
func lineOf(t *testing.T, file, text string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line with %q", file, text)
	return 0
}

// freeLaptopLoopbackPort picks a free port on 127.0.0.1 of the laptop
// namespace, as the IDE picks one before starting dlv.
func freeLaptopLoopbackPort(t *testing.T) string {
	ln := inLaptopNetns(t, func() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") })
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// processesRunning lists the live processes whose executable is exe or
// lies under dir (the binary Delve builds there, deleted or not).
func processesRunning(exe, dir string) []string {
	var found []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		p, err := os.Readlink("/proc/" + d.Name() + "/exe")
		if err == nil && (p == exe || strings.HasPrefix(p, dir+"/")) {
			found = append(found, d.Name()+" "+p)
		}
	}
	return found
}

// lockedBuffer is a bytes.Buffer written by one goroutine, read by another.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
