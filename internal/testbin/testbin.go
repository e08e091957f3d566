// Package testbin builds the programs the test suites run (the plugin, the
// Go and C probe programs, the local HTTP server) once per test process,
// into one directory that other local users may read and run (the security
// suite runs them as a stranger).
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

var (
	mu    sync.Mutex
	dir   string
	built = map[string]string{} // name -> path
)

// Repo is the repository's root directory.
func Repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// The programs the suites share.
var recipes = map[string][]string{
	"kubectl-mirror": {"env", "CGO_ENABLED=0", "go", "build", "-o", "{out}", "./cmd/kubectl-mirror"},
	"netprobe":       {"env", "CGO_ENABLED=0", "go", "build", "-o", "{out}", "./test/programs/netprobe"},
	"netprobe-cgo":   {"env", "CGO_ENABLED=1", "go", "build", "-tags", "netcgo", "-o", "{out}", "./test/programs/netprobe"},
	"httpserve":      {"env", "CGO_ENABLED=0", "go", "build", "-o", "{out}", "./test/programs/httpserve"},
	"incluster":      {"env", "CGO_ENABLED=0", "go", "build", "-o", "{out}", "./test/programs/incluster"},
	"ptraceparent":   {"env", "CGO_ENABLED=0", "go", "build", "-o", "{out}", "./test/programs/ptraceparent"},
	"peerclaim":      {"env", "CGO_ENABLED=0", "go", "build", "-o", "{out}", "./test/programs/peerclaim"},
	// Delve, from the module proxy: the debugger the end-to-end tests drive.
	"dlv":         {"env", "GOBIN={dir}", "GOFLAGS=", "go", "install", "github.com/go-delve/delve/cmd/dlv@v1.27.2"},
	"cprobe":      {"gcc", "-O2", "-o", "{out}", "test/programs/cprobe/cprobe.c"},
	"cprobe-musl": {"musl-gcc", "-static", "-O2", "-o", "{out}", "test/programs/cprobe/cprobe.c"},
}

// Path builds the named program the first time it is asked for and returns
// its path.
func Path(name string) (string, error) {
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[name]; ok {
		return p, nil
	}
	recipe, ok := recipes[name]
	if !ok {
		return "", fmt.Errorf("testbin: no program %q", name)
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "kubectl-mirror-testbin")
		if err != nil {
			return "", err
		}
		if err := os.Chmod(d, 0o755); err != nil {
			return "", err
		}
		dir = d
	}
	out := filepath.Join(dir, name)
	args := make([]string, len(recipe))
	for i, a := range recipe {
		if a == "{out}" {
			a = out
		}
		args[i] = strings.ReplaceAll(a, "{dir}", dir)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = Repo()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out, nil
}

// Remove deletes what was built (a TestMain's last step).
func Remove() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
		dir, built = "", map[string]string{}
	}
}
