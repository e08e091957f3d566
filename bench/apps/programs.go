package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// program is one row: a command run natively, traced and run.
type program struct {
	name    string
	target  float64  // the ratio to native, net of the fixed start-up, not to exceed
	dir     string   // working directory ("" = the repository's root)
	argv    []string // the command natively and traced
	runArgv []string // the command under `run`, when it differs
	missing string   // why the row is not measured ("not installed")
}

// programs lists the rows. get is the URL the Java program fetches natively
// and traced, remote the one it fetches under `run`.
func (b *bench) programs(get, remote string) []program {
	data := filepath.Join(b.repo, "bench", "apps", "testdata")
	var ps []program

	python, shim := findPython()
	ps = append(ps,
		program{name: "python3 -c pass", target: 1.10, argv: []string{python, "-c", "pass"}},
		program{name: "python3: import 30 stdlib modules", target: 1.10, argv: []string{python, filepath.Join(data, "imports.py")}},
	)

	node, err := exec.LookPath("node")
	missing := ""
	if err != nil {
		missing = "node not installed"
	}
	ps = append(ps,
		program{name: "node -e 0", target: 1.10, argv: []string{node, "-e", "0"}, missing: missing},
		program{name: "node: require 20 built-in modules", target: 1.10, argv: []string{node, filepath.Join(data, "requires.js")}, missing: missing},
	)

	java, err := exec.LookPath("java")
	missing = ""
	if err != nil {
		missing = "java not installed"
	}
	ps = append(ps, program{name: "java -version", target: 1.10, argv: []string{java, "-version"}, missing: missing})
	fetch := program{name: "java: one HTTP GET", target: 1.10, missing: missing}
	if missing == "" {
		classes, err := b.javac(filepath.Join(data, "Get.java"))
		if err != nil {
			fetch.missing = err.Error()
		}
		fetch.argv = []string{java, "-cp", classes, "Get", get}
		fetch.runArgv = []string{java, "-cp", classes, "Get", remote}
	}
	ps = append(ps, fetch)

	ours, err := b.pyenvStyleShim(python)
	missing = ""
	if err != nil {
		missing = err.Error()
	}
	ps = append(ps, program{name: "bash shim execs python3 -c pass", target: 1.25, argv: []string{ours, "-c", "pass"}, missing: missing})
	if shim != "" { // a version manager's shim is first on PATH here: time it too
		ps = append(ps, program{name: "this machine's " + shim + " -c pass", target: 1.25, argv: []string{shim, "-c", "pass"}})
	}

	// The Go edit-run loop, on the same programs bench/tracer times.
	goTool, err := exec.LookPath("go")
	missing = ""
	if err != nil {
		missing = "go not installed"
	}
	ps = append(ps,
		program{name: "go run . (warm cache)", target: 1.10, dir: filepath.Join(b.repo, "test", "programs", "gorun"), argv: []string{goTool, "run", "."}, missing: missing},
		program{name: "go test . (warm cache)", target: 1.10, dir: filepath.Join(b.repo, "bench", "tracer", "testdata", "gotest"), argv: []string{goTool, "test", "-count=1", "."}, missing: missing},
	)

	ps = append(ps, program{name: "sh: 3000 [ -f ] tests", target: 2,
		argv: []string{"sh", "-c", "i=0; while [ $i -lt 3000 ]; do [ -f /etc/hostname ]; i=$((i+1)); done"}})
	return ps
}

// findPython returns the python3 interpreter itself and, when python3 on
// PATH is a script (a pyenv or asdf shim), that script.
func findPython() (interpreter, shim string) {
	path, err := exec.LookPath("python3")
	if err != nil {
		return "python3", ""
	}
	if !isScript(path) {
		return path, ""
	}
	out, err := exec.Command(path, "-c", "import sys; print(sys.executable)").Output()
	if real := strings.TrimSpace(string(out)); err == nil && real != "" && !isScript(real) {
		return real, path
	}
	return path, ""
}

func isScript(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 2)
	n, _ := f.Read(head)
	return bytes.Equal(head[:n], []byte("#!"))
}

// pyenvStyleShim writes a bash script named python3 that execs the
// interpreter, as pyenv's and asdf's shims do (through /usr/bin/env bash).
func (b *bench) pyenvStyleShim(python string) (string, error) {
	if _, err := exec.LookPath("bash"); err != nil {
		return "", fmt.Errorf("bash not installed")
	}
	dir := filepath.Join(b.tmp, "shims")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "python3")
	script := "#!/usr/bin/env bash\nset -e\n[ -n \"$PYENV_DEBUG\" ] && set -x\nprogram=\"${0##*/}\"\nexec " + python + " \"$@\"\n"
	return path, os.WriteFile(path, []byte(script), 0o755)
}

// javac compiles src into a directory of its own and returns it.
func (b *bench) javac(src string) (string, error) {
	javac, err := exec.LookPath("javac")
	if err != nil {
		return "", fmt.Errorf("javac not installed")
	}
	dir := filepath.Join(b.tmp, "classes")
	if out, err := exec.Command(javac, "-d", dir, src).CombinedOutput(); err != nil {
		return "", fmt.Errorf("javac: %v: %s", err, out)
	}
	return dir, nil
}

// loopbackServer answers every request with a short body, on 127.0.0.1.
func loopbackServer() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { //nolint:errcheck // ends when l closes
		fmt.Fprintln(w, "hello from the bench's loopback server")
	}))
	return l, nil
}
