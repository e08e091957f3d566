package tracer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// netnsEnv marks the test binary re-executed inside its own network namespace.
const netnsEnv = "TRACER_TEST_IN_NETNS"

// progs holds the test programs built once for the suite.
var progs struct {
	dir                            string
	goStatic, goCgo, cGlibc, cMusl string
}

// TestMain re-runs the suite inside a new network namespace that has only
// loopback (as root), so a redirection test that passes cannot have reached
// any real address, then builds the test programs.
func TestMain(m *testing.M) {
	if os.Geteuid() == 0 && os.Getenv(netnsEnv) == "" {
		cmd := exec.Command("unshare", "--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`)
		cmd.Args = append(cmd.Args, os.Args...)
		cmd.Env = append(os.Environ(), netnsEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			fmt.Fprintln(os.Stderr, "tracer tests: cannot enter a network namespace:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := 0
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "tracer-progs")
		if err != nil {
			panic(err)
		}
		progs.dir = dir
		if err := buildPrograms(dir); err != nil {
			fmt.Fprintln(os.Stderr, "tracer tests: building test programs:", err)
			os.Exit(1)
		}
		code = m.Run()
		os.RemoveAll(dir)
	} else {
		code = m.Run()
	}
	os.Exit(code)
}

func repoDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

func buildPrograms(dir string) error {
	repo := repoDir()
	progs.goStatic = filepath.Join(dir, "netprobe-static")
	progs.goCgo = filepath.Join(dir, "netprobe-cgo")
	progs.cGlibc = filepath.Join(dir, "cprobe-glibc")
	progs.cMusl = filepath.Join(dir, "cprobe-musl")
	src := filepath.Join(repo, "test", "programs", "cprobe", "cprobe.c")
	steps := [][]string{
		{"env", "CGO_ENABLED=0", "go", "build", "-o", progs.goStatic, "./test/programs/netprobe"},
		{"env", "CGO_ENABLED=1", "go", "build", "-tags", "netcgo", "-o", progs.goCgo, "./test/programs/netprobe"},
		{"gcc", "-O2", "-o", progs.cGlibc, src},
		{"musl-gcc", "-static", "-O2", "-o", progs.cMusl, src},
	}
	for _, s := range steps {
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v\n%s", s, err, out)
		}
	}
	return nil
}
