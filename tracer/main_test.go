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

// engineEnv names the one engine to run the suite under (hybrid or ptrace);
// unset, the suite runs under each in turn.
const engineEnv = "MIRROR_TRACER_ENGINE"

// testEngine is the engine the suite runs under now (withEngine).
var testEngine Engine

// progs holds the test programs built once for the suite.
var progs struct {
	goStatic, goCgo, cGlibc, cMusl string
}

// TestMain re-runs the suite inside a new network namespace that has only
// loopback (as root), so a redirection test that passes cannot have reached
// any real address, then builds the test programs and runs the suite under
// each engine: the hybrid engine (the default), then the ptrace engine.
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
	engines := []Engine{EngineHybrid, EnginePtrace}
	if name := os.Getenv(engineEnv); name != "" {
		e, err := ParseEngine(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tracer tests:", err)
			os.Exit(2)
		}
		engines = []Engine{e}
	}
	code := 0
	if os.Geteuid() == 0 {
		if err := buildPrograms(); err != nil {
			fmt.Fprintln(os.Stderr, "tracer tests: building test programs:", err)
			os.Exit(1)
		}
		for _, e := range engines {
			testEngine = e
			fmt.Fprintf(os.Stderr, "tracer tests: the %s engine\n", e)
			if c := m.Run(); c != 0 {
				fmt.Fprintf(os.Stderr, "tracer tests: FAIL under the %s engine\n", e)
				code = c
			}
		}
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
