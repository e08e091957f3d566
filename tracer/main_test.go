package tracer

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
)

// netnsEnv marks the test binary re-executed inside its own network namespace.
const netnsEnv = "TRACER_TEST_IN_NETNS"

// progs holds the test programs built once for the suite.
var progs struct {
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
		if err := buildPrograms(); err != nil {
			fmt.Fprintln(os.Stderr, "tracer tests: building test programs:", err)
			os.Exit(1)
		}
		code = m.Run()
		testbin.Remove()
	} else {
		code = m.Run()
	}
	os.Exit(code)
}

func repoDir() string { return testbin.Repo() }

func buildPrograms() error {
	for _, p := range []struct {
		dst  *string
		name string
	}{{&progs.goStatic, "netprobe"}, {&progs.goCgo, "netprobe-cgo"}, {&progs.cGlibc, "cprobe"}, {&progs.cMusl, "cprobe-musl"}} {
		path, err := testbin.Path(p.name)
		if err != nil {
			return err
		}
		*p.dst = path
	}
	return nil
}
