package tracer

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// watched is a redirector that also notes which program made each call it
// was asked about, by the names the processes exec'd.
type watched struct {
	*redirector
	mu      sync.Mutex
	names   map[int]string  // pid -> the program it runs now
	callers map[string]int  // program -> calls the handler saw from it
	modes   map[string]Mode // program -> its mode
}

func newWatched() *watched {
	return &watched{redirector: newRedirector(), names: map[int]string{}, callers: map[string]int{}, modes: map[string]Mode{}}
}

func (w *watched) onExec(e Exec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.names[e.PID] = e.Name
	w.modes[e.Name] = e.Mode
}

func (w *watched) saw(c *Call) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.callers[w.names[c.PID]]++
}

func (w *watched) Socket(c *Call) Verdict { w.saw(c); return w.redirector.Socket(c) }
func (w *watched) Path(c *Call) Verdict   { w.saw(c); return w.redirector.Path(c) }

// config runs under the default policy, reporting execs to w.
func (w *watched) config(dir string, env ...string) Config {
	return Config{Handler: w, Dir: dir, Policy: DefaultPolicy(), OnExec: w.onExec, Env: append(os.Environ(), env...)}
}

// noCallsFrom fails when the handler was asked about a call of one of the
// named programs, which should have run native.
func (w *watched) noCallsFrom(t *testing.T, names ...string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range names {
		if w.callers[n] != 0 {
			t.Errorf("%d calls of %s reached the handler; build tools must run native (callers: %v)", w.callers[n], n, w.callers)
		}
		if m, ok := w.modes[n]; ok && m != Native {
			t.Errorf("%s ran %s, want native", n, m)
		}
	}
}

// probeModule writes a module whose program and test dial $PROBE_ADDR and
// print the line they read.
func probeModule(t *testing.T) string {
	t.Helper()
	dir := testenv.WriteFiles(t, map[string]string{
		"go.mod": "module probe\n\ngo 1.22\n",
		"probe.go": `package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
)

func dial() string {
	c, err := net.Dial("tcp", os.Getenv("PROBE_ADDR"))
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}

func main() { fmt.Print("program got: ", dial()) }
`,
		"probe_test.go": `package main

import (
	"fmt"
	"testing"
)

func TestDial(t *testing.T) { fmt.Print("test got: ", dial()) }
`,
	})
	return dir
}

// TestGoRunAndGoTestInterceptOnlyTheBuiltProgram: the go command, compile
// and link run native, while the program they build is intercepted: its
// connection is redirected as it would be without skipping.
func TestGoRunAndGoTestInterceptOnlyTheBuiltProgram(t *testing.T) {
	needPtrace(t)
	dir := probeModule(t)
	greeter := tcpGreeter(t, "redirected")
	env := "PROBE_ADDR=" + unroutableTCP.String()
	for _, argv := range [][]string{{"go", "run", "."}, {"go", "test", "-count=1", "-v", "."}} {
		t.Run(strings.Join(argv[:2], " "), func(t *testing.T) {
			w := newWatched()
			w.route(unroutableTCP, greeter)
			got := runTracedWith(t, w.config(dir, env), argv...)
			if got.status.Code != 0 || !strings.Contains(got.stdout, "got: redirected\n") {
				t.Fatalf("the built program's connection was not redirected: %+v", got)
			}
			w.noCallsFrom(t, "go", "compile", "link", "vet")
			built := "probe"
			if argv[1] == "test" {
				built = "probe.test"
			}
			if w.modes[built] != Intercepted || w.callers[built] == 0 {
				t.Errorf("%s: mode %s, %d calls seen; want intercepted with its calls seen (modes %v)", built, w.modes[built], w.callers[built], w.modes)
			}
		})
	}
}

// TestShellBuiltinsSeenWhileItsBuildRunsNative: a bash script's own calls
// ([ -f ], /dev/tcp) are decided while the go build it starts runs native and
// the program it built is intercepted.
func TestShellBuiltinsSeenWhileItsBuildRunsNative(t *testing.T) {
	needPtrace(t)
	dir := probeModule(t)
	data := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(data, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newWatched()
	w.route(unroutableTCP, tcpGreeter(t, "redirected"))
	w.paths["/probe/config"] = data
	w.refuse[closedTCP] = true
	script := `[ -f /probe/config ] && echo "config seen"
exec 3<>/dev/tcp/` + unroutableTCP.Addr().String() + `/80 && read -r line <&3 && echo "bash got: $line"
err=$( (exec 4<>/dev/tcp/` + closedTCP.Addr().String() + `/` + strconv.Itoa(int(closedTCP.Port())) + `) 2>&1 )
case "$err" in *"Connection refused"*) echo "bash was refused" ;; esac
go build -o app . && ./app`
	tr, got := traceFull(t, w.config(dir, "PROBE_ADDR="+unroutableTCP.String()), "bash", "-c", script)
	want := "config seen\nbash got: redirected\nbash was refused\nprogram got: redirected\n"
	if got.stdout != want || got.status.Code != 0 {
		t.Fatalf("got %+v, want %q", got, want)
	}
	w.noCallsFrom(t, "go", "compile", "link")
	if w.modes["bash"] != Launcher || w.modes["app"] != Intercepted {
		t.Errorf("modes %v: want bash a launcher and app intercepted", w.modes)
	}
	// bash is gated, not stepped: its calls past the loader stop only
	// where the filter would, and the build's calls never stop.
	if st := tr.Stats(); st.LauncherGates == 0 || st.NativeStops != 0 || st.EntryStops > 200 {
		t.Errorf("stats %+v: want bash gated (LauncherGates), few entry stops, and no stop of the build's calls", st)
	}
}

// TestLauncherWithoutRandomizationStaysStepped: with address space
// randomization off (setarch -R), the code a launcher's child execs could
// lie where the launcher's did, so the launcher is stepped as before, and
// its calls and its child's are still decided.
func TestLauncherWithoutRandomizationStaysStepped(t *testing.T) {
	needPtrace(t)
	setarch, err := exec.LookPath("setarch")
	if err != nil {
		testenv.Skip(t, "setarch (util-linux) is not installed")
	}
	data := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(data, []byte("from the pod\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := newWatched()
	w.paths["/probe/config"] = data
	cfg := w.config("")
	cfg.Policy.Launchers = append(cfg.Policy.Launchers, "setarch")
	script := `for i in 1 2 3 4 5 6 7 8 9 10; do [ -f /probe/config ] || exit 1; done; cat /probe/config`
	tr, got := traceFull(t, cfg, setarch, "-R", "bash", "-c", script)
	if got.stdout != "from the pod\n" || got.status.Code != 0 {
		t.Fatalf("got %+v", got)
	}
	// setarch is gated; the bash it runs without randomization is stepped.
	if st := tr.Stats(); st.LauncherGates != 1 || st.EntryStops < 20 {
		t.Errorf("stats %+v: want setarch gated and bash stepped", st)
	}
}

// TestProgramRunAgainByABuildToolIsIntercepted: a watcher that reruns the
// program through `go run` (a hot-reload loop) is intercepted, the go command
// it starts under its filter runs native, and the program go runs is
// intercepted again.
func TestProgramRunAgainByABuildToolIsIntercepted(t *testing.T) {
	needPtrace(t)
	dir := probeModule(t)
	w := newWatched()
	w.route(unroutableTCP, tcpGreeter(t, "redirected"))
	watcher := `import subprocess; subprocess.run(["go", "run", "."], check=True)`
	tr, got := traceFull(t, w.config(dir, "PROBE_ADDR="+unroutableTCP.String()), "python3", "-c", watcher)
	if got.status.Code != 0 || got.stdout != "program got: redirected\n" {
		t.Fatalf("the program run again was not intercepted: %+v", got)
	}
	w.noCallsFrom(t, "go", "compile", "link")
	if st := tr.Stats(); st.NativeStops == 0 || w.modes["probe"] != Intercepted {
		t.Errorf("stats %+v, modes %v: want the go command's calls let through under python's filter, and probe intercepted", st, w.modes)
	}
}

// TestSkipListNames: a program is known by its executable or its comm, and
// a comm the kernel cut to 15 bytes still matches.
func TestSkipListNames(t *testing.T) {
	p := Policy{Skip: []string{"go", "golangci-lint-langserver"}, Launchers: []string{"sh"}}
	for _, tc := range []struct {
		exe, comm string
		want      Mode
	}{
		{"/usr/local/go/bin/go", "go", Native},
		{"/bin/busybox", "sh", Launcher},
		{"/usr/bin/python3", "go", Native}, // a script named go: a wrapper
		{"/usr/bin/golangci-lint-langserver", "golangci-lint-l", Native},
		{"/tmp/go-build1/b001/exe/api", "api", Intercepted},
		{"/usr/bin/gopher", "gopher", Intercepted},
	} {
		if got := p.ModeOf(tc.exe, tc.comm); got != tc.want {
			t.Errorf("ModeOf(%q, %q) = %s, want %s", tc.exe, tc.comm, got, tc.want)
		}
	}
	if (Policy{}).ModeOf("/usr/local/go/bin/go", "go") != Intercepted {
		t.Error("the zero Policy must intercept everything")
	}
	if !slices.Contains(DefaultPolicy("air").Skip, "air") {
		t.Error("extra names are not added to the skip list")
	}
}

func TestNotifySupportNamesTheKernelItNeeds(t *testing.T) {
	for _, tc := range []struct {
		major, minor int
		ok           bool
	}{{4, 19, false}, {5, 4, false}, {5, 8, false}, {5, 9, true}, {5, 14, true}, {6, 1, true}} {
		err := notifySupportOn(tc.major, tc.minor)
		if (err == nil) != tc.ok {
			t.Errorf("%d.%d: %v, want ok=%v", tc.major, tc.minor, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "Linux 5.9") {
			t.Errorf("%d.%d: %v does not name the version needed", tc.major, tc.minor, err)
		}
	}
	if got := DefaultPolicy().ModeOf("/usr/local/bin/dlv", "dlv"); got != Debugger {
		t.Errorf("dlv runs as %v, want debugger", got)
	}
}
