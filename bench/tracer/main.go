// Command tracer-bench measures the tracer against native runs and strace,
// side by side in one run, and prints ratios (never absolute times alone:
// the machine's speed varies, the ratio of two runs side by side does not).
// Run as root:
//
//	go run ./bench/tracer
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

const rounds = 5 // alternate native/traced runs; report medians

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "tracer-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "tracer-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sysbench := filepath.Join(dir, "sysbench")
	if out, err := exec.Command("gcc", "-O2", "-o", sysbench, "bench/tracer/csrc/sysbench.c").CombinedOutput(); err != nil {
		return fmt.Errorf("gcc: %v\n%s", err, out)
	}
	spin := filepath.Join(dir, "spin")
	if out, err := exec.Command("go", "build", "-o", spin, "./test/programs/netprobe").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}

	// 1. A syscall the filter lets through: getpid.
	nat, trc, err := medianPair(
		func() (float64, error) { return nsPerCall(nil, sysbench, "getpid", "2000000") },
		func() (float64, error) { return nsPerCall(allow{}, sysbench, "getpid", "2000000") })
	if err != nil {
		return err
	}
	fmt.Printf("getpid (not intercepted): native %.1f ns, traced %.1f ns, ratio %.3fx (target <= 1.05x)\n", nat, trc, trc/nat)

	// 2. One intercepted syscall: openat, against strace --seccomp-bpf.
	const n = "20000"
	natO, trcO, err := medianPair(
		func() (float64, error) { return nsPerCall(nil, sysbench, "openat", n) },
		func() (float64, error) { return nsPerCall(allow{}, sysbench, "openat", n) })
	if err != nil {
		return err
	}
	straceO, err := median(func() (float64, error) {
		return nsPerCall(nil, "strace", "-f", "--seccomp-bpf", "-e", "trace=openat", "-o", "/dev/null", sysbench, "openat", n)
	})
	if err != nil {
		return err
	}
	ours, theirs := trcO-natO, straceO-natO
	fmt.Printf("openat (intercepted): native %.0f ns, traced %.0f ns, strace %.0f ns; cost per stop %.1f us vs strace %.1f us, ratio %.2fx (target <= 0.5x)\n",
		natO, trcO, straceO, ours/1000, theirs/1000, ours/theirs)

	// 3. go run of a small program, warm build cache.
	gorun := "test/programs/gorun"
	if _, err := wallTime(nil, gorun, "go", "run", "."); err != nil { // warm the cache
		return err
	}
	natG, trcG, err := medianPair(
		func() (float64, error) { return wallTime(nil, gorun, "go", "run", ".") },
		func() (float64, error) { return wallTime(allow{}, gorun, "go", "run", ".") })
	if err != nil {
		return err
	}
	fmt.Printf("go run . (warm cache): native %.0f ms, traced %.0f ms, ratio %.3fx (target <= 1.15x)\n", natG/1e6, trcG/1e6, trcG/natG)
	goRun, err := tracer.Start(context.Background(), tracer.Config{Path: "go", Args: []string{"go", "run", "."}, Dir: gorun, Handler: allow{}})
	if err != nil {
		return err
	}
	if _, err := goRun.Wait(); err != nil {
		return err
	}
	st := goRun.Stats()
	fmt.Printf("go run . stops: %d seccomp, %d signal, %d new tasks, %d execs\n", st.SeccompStops, st.SignalStops, st.NewTasks, st.Execs)

	// 4. Signal-delivery stops of a CPU-bound Go program (SIGURG preemption).
	t, err := tracer.Start(context.Background(), tracer.Config{Path: spin, Args: []string{spin, "spin", "2"}, Handler: allow{}})
	if err != nil {
		return err
	}
	if _, err := t.Wait(); err != nil {
		return err
	}
	fmt.Printf("CPU-bound Go program, 2 s: %d signal-delivery stops (%.0f/s)\n", t.Stats().SignalStops, float64(t.Stats().SignalStops)/2)
	return nil
}

type allow struct{}

func (allow) Socket(*tracer.Call) tracer.Verdict { return tracer.Allow() }
func (allow) Path(*tracer.Call) tracer.Verdict   { return tracer.Allow() }

// nsPerCall runs a sysbench command (traced when h is set) and parses its figure.
func nsPerCall(h tracer.Handler, argv ...string) (float64, error) {
	out, err := runCmd(h, "", argv...)
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(out), 64)
}

func wallTime(h tracer.Handler, dir string, argv ...string) (float64, error) {
	start := time.Now()
	_, err := runCmd(h, dir, argv...)
	return float64(time.Since(start).Nanoseconds()), err
}

func runCmd(h tracer.Handler, dir string, argv ...string) (string, error) {
	f, err := os.CreateTemp("", "bench-out")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if h == nil {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dir, f, os.Stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%v: %w", argv, err)
		}
	} else {
		st, err := tracer.Trace(context.Background(), tracer.Config{Path: argv[0], Args: argv, Dir: dir, Stdout: f, Stderr: os.Stderr, Handler: h})
		if err != nil || st.ExitCode() != 0 {
			return "", fmt.Errorf("traced %v: %v %v", argv, st, err)
		}
	}
	b, err := os.ReadFile(f.Name())
	return string(b), err
}

// medianPair alternates two measurements so machine noise hits both alike.
func medianPair(a, b func() (float64, error)) (float64, float64, error) {
	var as, bs []float64
	for i := 0; i < rounds; i++ {
		x, err := a()
		if err != nil {
			return 0, 0, err
		}
		y, err := b()
		if err != nil {
			return 0, 0, err
		}
		as, bs = append(as, x), append(bs, y)
	}
	return med(as), med(bs), nil
}

func median(f func() (float64, error)) (float64, error) {
	var xs []float64
	for i := 0; i < rounds; i++ {
		x, err := f()
		if err != nil {
			return 0, err
		}
		xs = append(xs, x)
	}
	return med(xs), nil
}

func med(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
