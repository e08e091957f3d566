//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// laptopAddr is the laptop namespace's own address (test/cluster/config.sh):
// not loopback, and no pod can reach it (the laptop has no route back to the
// pod network), so only this machine's own processes can use what listens there.
const laptopAddr = "10.251.0.2"

// listenInLaptop opens a TCP listener on laptopAddr inside the laptop
// namespace.
func listenInLaptop(t *testing.T) net.Listener {
	t.Helper()
	ln := inLaptopNetns(t, func() (net.Listener, error) { return net.Listen("tcp", laptopAddr+":0") })
	t.Cleanup(func() { ln.Close() })
	return ln
}

// inLaptopNetns calls f on a thread moved into the laptop network namespace
// and back: the sockets f makes stay in that namespace.
func inLaptopNetns[T any](t *testing.T, f func() (T, error)) T {
	t.Helper()
	ns, err := os.Open("/run/netns/mirror-laptop")
	if err != nil {
		t.Fatalf("the laptop namespace: %v", err)
	}
	defer ns.Close()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer self.Close()
	type result struct {
		v   T
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked if the way back fails: the thread dies with the goroutine
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		v, err := f()
		if back := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); back != nil {
			done <- result{v, back}
			return
		}
		runtime.UnlockOSThread()
		done <- result{v, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("in the laptop namespace: %v", r.err)
	}
	return r.v
}

// moduleProxy serves one module, example.test/greet v1.0.0, by the GOPROXY
// protocol from the laptop's address, and records every path asked for.
type moduleProxy struct {
	url  string
	mu   sync.Mutex
	seen []string
}

func startModuleProxy(t *testing.T) *moduleProxy {
	t.Helper()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for name, text := range map[string]string{
		"go.mod":   "module example.test/greet\n\ngo 1.22\n",
		"greet.go": "// Package greet is served by the suite's module proxy.\npackage greet\n\n// Hello says where it came from.\nfunc Hello() string { return \"hello from the laptop's module proxy\" }\n",
	} {
		w, err := zw.Create("example.test/greet@v1.0.0/" + name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte(text))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"/example.test/greet/@v/list":        []byte("v1.0.0\n"),
		"/example.test/greet/@v/v1.0.0.info": []byte(`{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}`),
		"/example.test/greet/@v/v1.0.0.mod":  []byte("module example.test/greet\n\ngo 1.22\n"),
		"/example.test/greet/@v/v1.0.0.zip":  zbuf.Bytes(),
	}
	ln := listenInLaptop(t)
	p := &moduleProxy{url: "http://" + ln.Addr().String()}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.URL.Path)
		p.mu.Unlock()
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return p
}

func (p *moduleProxy) asked(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.seen {
		if strings.HasSuffix(s, path) {
			return true
		}
	}
	return false
}

// greetModule writes a program that needs example.test/greet and then asks
// the module proxy's address itself for /program-was-here, and returns its
// directory and the flags of run (--env) that give the program the go
// environment that fetches into a fresh module cache.
func greetModule(t *testing.T, proxy *moduleProxy) (string, []string) {
	t.Helper()
	dir := testenv.WriteFiles(t, map[string]string{
		"go.mod": "module app\n\ngo 1.22\n\nrequire example.test/greet v1.0.0\n",
		"main.go": `package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"example.test/greet"
)

func main() {
	fmt.Println(greet.Hello())
	c := http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(os.Getenv("GOPROXY") + "/program-was-here")
	if err != nil {
		fmt.Println("the program could not reach the proxy's address")
		return
	}
	resp.Body.Close()
	fmt.Println("the program reached the proxy's address:", resp.Status)
}
`,
	})
	modcache := t.TempDir()
	env := []string{"GOPROXY=" + proxy.url, "GOSUMDB=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOMODCACHE=" + modcache}
	t.Cleanup(func() {
		// The module cache is read-only: let the go command remove it.
		clean := exec.Command("go", "clean", "-modcache")
		clean.Env = append(os.Environ(), "GOMODCACHE="+modcache)
		_ = clean.Run()
	})
	var flags []string
	for _, kv := range env {
		flags = append(flags, "--env", kv)
	}
	return dir, flags
}

// TestGoRunFetchesModulesLocallyWhileTheProgramUsesThePod: the go command
// runs native and fetches a dependency from a proxy only this machine
// reaches; the program it builds is intercepted, and its own request to that
// same address goes through the pod, which cannot reach it.
func TestGoRunFetchesModulesLocallyWhileTheProgramUsesThePod(t *testing.T) {
	proxy := startModuleProxy(t)
	dir, goFlags := greetModule(t, proxy)
	out, errOut, code := plugin(t, slices.Concat([]string{"run", "deploy/echo", "--dial-timeout", "3s"}, goFlags, []string{"--", "go", "run", "."})...).
		dir(dir).timeout(4 * time.Minute).run()
	want := "hello from the laptop's module proxy\nthe program could not reach the proxy's address\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout %q, want %q\nstderr: %s", code, out, want, errOut)
	}
	if !proxy.asked("/@v/v1.0.0.zip") || proxy.asked("/program-was-here") {
		t.Fatalf("the proxy saw %v: want the module fetched from here and nothing from the program", proxy.seen)
	}

	// With build tools intercepted the go command's own fetch goes through
	// the pod, and fails there: what skipping them is for.
	dir, goFlags = greetModule(t, proxy)
	out, errOut, code = plugin(t, slices.Concat([]string{"run", "deploy/echo", "--dial-timeout", "3s", "--skip-build-tools=false"}, goFlags, []string{"--", "go", "run", "."})...).
		dir(dir).timeout(4 * time.Minute).run()
	if code == 0 || !strings.Contains(errOut, "example.test/greet") {
		t.Fatalf("intercepted go command: exit %d, stdout %q, stderr %s; want the module fetch to fail through the pod", code, out, errOut)
	}
}

// TestShellScriptSeesThePodWhileItsBuildRunsNative: bash's builtins see the
// pod's files and network, the go build it starts runs native (it fetches
// from this machine's proxy), and the program it built runs in the pod's
// network.
func TestShellScriptSeesThePodWhileItsBuildRunsNative(t *testing.T) {
	proxy := startModuleProxy(t)
	dir, goFlags := greetModule(t, proxy)
	script := `[ -f /etc/echo/config/app.conf ] && echo "bash sees the pod's configmap"
exec 3<>/dev/tcp/echo/9000 && read -r line <&3 && echo "bash got: ${line%% *}"
go build -o app . && ./app`
	out, errOut, code := plugin(t, slices.Concat([]string{"run", "deploy/echo", "--dial-timeout", "3s"}, goFlags, []string{"--", "bash", "-c", script})...).
		dir(dir).timeout(4 * time.Minute).run()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || lines[0] != "bash sees the pod's configmap" || !strings.HasPrefix(lines[1], "bash got: remote=10.244.") ||
		lines[2] != "hello from the laptop's module proxy" || lines[3] != "the program could not reach the proxy's address" {
		t.Fatalf("exit %d, stdout %q\nstderr: %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "app")); err != nil {
		t.Fatalf("go build wrote no binary in the local directory: %v", err)
	}
}
