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

const rounds = 7 // alternate native/traced runs; report medians

// engine is the engine the traced runs below use now: each comparison
// sets it, the default (hybrid) otherwise.
var engine = tracer.EngineHybrid

// under runs f with the tracer on engine e.
func under[T any](e tracer.Engine, f func() (T, error)) (T, error) {
	engine = e
	defer func() { engine = tracer.EngineHybrid }()
	return f()
}

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

	// 1. A syscall the filter lets through: getpid. "filter only" is the
	// same loop under an allow-all seccomp filter and no tracer: the
	// kernel's price of seccomp, which no tracer can go below.
	var natP, fltP, trcP []float64
	for i := 0; i < rounds; i++ {
		for _, m := range []struct {
			xs   *[]float64
			h    tracer.Handler
			argv []string
		}{
			{&natP, nil, []string{sysbench, "getpid", "2000000"}},
			{&fltP, nil, []string{sysbench, "getpid", "2000000", "filter"}},
			{&trcP, allow{}, []string{sysbench, "getpid", "2000000"}},
		} {
			x, err := nsPerCall(m.h, m.argv...)
			if err != nil {
				return err
			}
			*m.xs = append(*m.xs, x)
		}
	}
	nat, flt, trc := med(natP), med(fltP), med(trcP)
	fmt.Printf("getpid (not intercepted): native %.1f ns, allow-all filter only %.1f ns, traced %.1f ns; traced/filter-only %.3fx (target <= 1.02x), filter-only/native %.3fx (the kernel's seccomp entry)\n",
		nat, flt, trc, trc/flt, flt/nat)

	// 2. One intercepted syscall: openat, under each engine, against
	// strace --seccomp-bpf, alternating.
	const n = "20000"
	var natOs, hybOs, ptrOs, strOs []float64
	for i := 0; i < rounds; i++ {
		for _, m := range []struct {
			xs *[]float64
			f  func() (float64, error)
		}{
			{&natOs, func() (float64, error) { return nsPerCall(nil, sysbench, "openat", n) }},
			{&hybOs, func() (float64, error) {
				return under(tracer.EngineHybrid, func() (float64, error) { return nsPerCall(allow{}, sysbench, "openat", n) })
			}},
			{&ptrOs, func() (float64, error) {
				return under(tracer.EnginePtrace, func() (float64, error) { return nsPerCall(allow{}, sysbench, "openat", n) })
			}},
			{&strOs, func() (float64, error) {
				return nsPerCall(nil, "strace", "-f", "--seccomp-bpf", "-e", "trace=openat", "-o", "/dev/null", sysbench, "openat", n)
			}},
		} {
			x, err := m.f()
			if err != nil {
				return err
			}
			*m.xs = append(*m.xs, x)
		}
	}
	natO, hybO, ptrO, straceO := med(natOs), med(hybOs), med(ptrOs), med(strOs)
	hyb, ptr, theirs := hybO-natO, ptrO-natO, straceO-natO
	fmt.Printf("openat (intercepted): native %.0f ns, hybrid engine %.0f ns, ptrace engine %.0f ns, strace %.0f ns; cost per call: hybrid %.1f us (a notification), ptrace %.1f us (a stop), strace %.1f us; hybrid/strace %.2fx (target <= 0.35x), ptrace/strace %.2fx, hybrid/ptrace %.2fx\n",
		natO, hybO, ptrO, straceO, hyb/1000, ptr/1000, theirs/1000, hyb/theirs, ptr/theirs, hyb/ptr)
	ours := ptr
	getregs, readPath, err := stopParts(sysbench)
	if err != nil {
		return err
	}
	fmt.Printf("one stop's parts: PTRACE_GETREGS %.2f us, reading a path (process_vm_readv, one page) %.2f us; the other %.1f us are the stop and wake-up of tracee and tracer (two context switches, wait4, PTRACE_CONT) and the handler\n",
		getregs/1000, readPath/1000, (ours-getregs-readPath)/1000)

	// 2b. The same intercepted openat served by each engine: the ptrace
	// engine (a stop of the thread, PTRACE_CONT) against the notification
	// engine a debugger's program is handed to (a notification, CONTINUE),
	// and with the path replaced (ptrace: the argument rewritten in scratch
	// memory; notification: the open made here, the fd installed by ADDFD).
	if err := compareEngines(dir, sysbench, n, natO); err != nil {
		return err
	}

	// 3. The edit-run loop, warm caches: build tools native (the default),
	// against every process intercepted (--skip-build-tools=false).
	gotest := "bench/tracer/testdata/gotest"
	for _, c := range []struct {
		name, dir string
		argv      []string
	}{
		{"go run .", "test/programs/gorun", []string{"go", "run", "."}},
		{"go test .", gotest, []string{"go", "test", "-count=1", "."}},
	} {
		if err := compareRuns(c.name+" (warm cache)", "1.10x", c.dir, c.argv); err != nil {
			return err
		}
	}
	for _, e := range []tracer.Engine{tracer.EngineHybrid, tracer.EnginePtrace} {
		st, err := under(e, func() (tracer.Stats, error) {
			return stats(tracer.DefaultPolicy(), "test/programs/gorun", "go", "run", ".")
		})
		if err != nil {
			return err
		}
		fmt.Printf("go run . under the default policy, %s engine: %d execs (%d native, %d intercepted), %d seccomp stops, %d notifications, %d native stops, %d signal stops\n",
			e, st.Execs, st.NativeExecs, st.InterceptedExecs, st.SeccompStops, st.Notifications, st.NativeStops+st.NativeNotified, st.SignalStops)
	}

	// Interpreters: start-up, and start-up importing 14 stdlib modules
	// (hundreds of stats and opens): the interpreter itself, and as a
	// version manager's shim (a shell script, stepped as a launcher)
	// launches it, when python3 on PATH is one.
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return err
	}
	python := strings.TrimSpace(string(out))
	imports := "import json, re, os, sys, subprocess, threading, socket, http.client, urllib.request, email, logging, argparse, collections, decimal"
	type interp struct{ name, target, exe, code string }
	cases := []interp{{"python -c pass", "1.10x", python, "pass"}, {"python importing 14 stdlib modules", "1.10x", python, imports}}
	if shim, err := exec.LookPath("python3"); err == nil && shim != python {
		cases = append(cases, interp{"python3 -c pass through the shim " + shim, "1.25x", "python3", "pass"})
	}
	for _, c := range cases {
		argv := []string{c.exe, "-c", c.code}
		if err := compareRuns(c.name, c.target, "", argv); err != nil {
			return err
		}
		if err := printStops(c.name, "", argv); err != nil {
			return err
		}
	}

	// A syscall-heavy shell loop: the shell stepped as a launcher stops at
	// every syscall's entry and exit, where a filtered shell stops only at
	// the calls the filter traces.
	loop := []string{"sh", "-c", "i=0; while [ $i -lt 3000 ]; do [ -f /etc/hostname ]; i=$((i+1)); done"}
	if err := compareRuns("sh loop of 3000 [ -f ] tests", "none", "", loop); err != nil {
		return err
	}
	if err := printStops("sh loop", "", loop); err != nil {
		return err
	}

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

// compareRuns times argv natively, traced under the default policy and
// traced with every process intercepted, alternating, and prints medians.
func compareRuns(name, target, dir string, argv []string) error {
	if _, err := wallTime(nil, tracer.Policy{}, dir, argv...); err != nil { // warm caches
		return err
	}
	var nat, def, defP, all []float64
	for i := 0; i < rounds; i++ {
		for _, m := range []struct {
			xs *[]float64
			h  tracer.Handler
			p  tracer.Policy
			e  tracer.Engine
		}{{&nat, nil, tracer.Policy{}, 0}, {&def, allow{}, tracer.DefaultPolicy(), tracer.EngineHybrid},
			{&defP, allow{}, tracer.DefaultPolicy(), tracer.EnginePtrace}, {&all, allow{}, tracer.Policy{}, tracer.EngineHybrid}} {
			x, err := under(m.e, func() (float64, error) { return wallTime(m.h, m.p, dir, argv...) })
			if err != nil {
				return err
			}
			*m.xs = append(*m.xs, x)
		}
	}
	n, d, dp, a := med(nat), med(def), med(defP), med(all)
	fmt.Printf("%s: native %.1f ms; build tools native: hybrid engine %.1f ms (%.3fx, target <= %s), ptrace engine %.1f ms (%.3fx); all intercepted, hybrid %.1f ms (%.3fx)\n",
		name, n/1e6, d/1e6, d/n, target, dp/1e6, dp/n, a/1e6, a/n)
	return nil
}

// printStops traces argv once under each engine (default policy) and
// prints what stopped it.
func printStops(name, dir string, argv []string) error {
	for _, e := range []tracer.Engine{tracer.EngineHybrid, tracer.EnginePtrace} {
		st, err := under(e, func() (tracer.Stats, error) { return stats(tracer.DefaultPolicy(), dir, argv...) })
		if err != nil {
			return err
		}
		fmt.Printf("  %s, %s engine: %d notifications (%d emulated), %d seccomp stops, %d launcher entry stops, %d exit stops, %d signal stops\n",
			name, e, st.Notifications, st.Emulated, st.SeccompStops, st.EntryStops, st.ExitStops, st.SignalStops)
	}
	return nil
}

// stats traces argv once with an allow-all handler and returns the counters.
func stats(p tracer.Policy, dir string, argv ...string) (tracer.Stats, error) {
	t, err := tracer.Start(context.Background(), tracer.Config{Path: argv[0], Args: argv, Dir: dir, Handler: allow{}, Policy: p, Engine: engine})
	if err != nil {
		return tracer.Stats{}, err
	}
	_, err = t.Wait()
	return t.Stats(), err
}

// compareEngines measures one intercepted openat, and a build with every
// process intercepted, under both engines.
func compareEngines(dir, sysbench, n string, native float64) error {
	debugger := filepath.Join(dir, "ptraceparent")
	if out, err := exec.Command("go", "build", "-o", debugger, "./test/programs/ptraceparent").CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	handOver := tracer.Policy{Debuggers: []string{"ptraceparent"}}
	for _, c := range []struct {
		name string
		h    tracer.Handler
	}{{"allowed", allow{}}, {"path replaced", replace{}}} {
		var ps, hs, ns []float64
		for i := 0; i < rounds; i++ {
			for _, m := range []struct {
				xs   *[]float64
				e    tracer.Engine
				p    tracer.Policy
				argv []string
			}{{&ps, tracer.EnginePtrace, tracer.Policy{}, []string{sysbench, "openat", n}},
				{&hs, tracer.EngineHybrid, tracer.Policy{}, []string{sysbench, "openat", n}},
				{&ns, tracer.EnginePtrace, handOver, []string{debugger, sysbench, "openat", n}}} {
				x, err := under(m.e, func() (float64, error) { return nsPerCallWith(c.h, m.p, m.argv...) })
				if err != nil {
					return err
				}
				*m.xs = append(*m.xs, x)
			}
		}
		p, h, q := med(ps)-native, med(hs)-native, med(ns)-native
		fmt.Printf("openat %s: cost per call, ptrace engine %.1f us, hybrid engine %.1f us, a debuggee's notification engine %.1f us; hybrid/ptrace %.2fx\n",
			c.name, p/1000, h/1000, q/1000, h/p)
	}
	// A whole build with every process intercepted (thousands of path
	// calls): go run . under each engine, against native.
	argv := []string{"go", "run", "."}
	const gorun = "test/programs/gorun"
	if _, err := wallTime(nil, tracer.Policy{}, gorun, argv...); err != nil { // warm caches
		return err
	}
	var nat, viaPtrace, viaHybrid, viaNotify []float64
	for i := 0; i < rounds; i++ {
		for _, m := range []struct {
			xs   *[]float64
			h    tracer.Handler
			p    tracer.Policy
			e    tracer.Engine
			argv []string
		}{{&nat, nil, tracer.Policy{}, 0, argv}, {&viaPtrace, allow{}, tracer.Policy{}, tracer.EnginePtrace, argv},
			{&viaHybrid, allow{}, tracer.Policy{}, tracer.EngineHybrid, argv},
			{&viaNotify, allow{}, handOver, tracer.EnginePtrace, append([]string{debugger}, argv...)}} {
			x, err := under(m.e, func() (float64, error) { return wallTime(m.h, m.p, gorun, m.argv...) })
			if err != nil {
				return err
			}
			*m.xs = append(*m.xs, x)
		}
	}
	nt, p, h, q := med(nat), med(viaPtrace), med(viaHybrid), med(viaNotify)
	fmt.Printf("go run . with every process intercepted: native %.1f ms, ptrace engine %.1f ms (%.2fx), hybrid engine %.1f ms (%.2fx), handed to the notification engine %.1f ms (%.2fx)\n",
		nt/1e6, p/1e6, p/nt, h/1e6, h/nt, q/1e6, q/nt)
	return nil
}

// replace points every openat of /dev/null at /dev/zero.
type replace struct{ allow }

func (replace) Path(c *tracer.Call) tracer.Verdict {
	if c.Path == "/dev/null" {
		return tracer.ReplacePath("/dev/zero")
	}
	return tracer.Allow()
}

type allow struct{}

func (allow) Socket(*tracer.Call) tracer.Verdict { return tracer.Allow() }
func (allow) Path(*tracer.Call) tracer.Verdict   { return tracer.Allow() }

// nsPerCall runs a sysbench command (traced when h is set) and parses its figure.
func nsPerCall(h tracer.Handler, argv ...string) (float64, error) {
	return nsPerCallWith(h, tracer.Policy{}, argv...)
}

// nsPerCallWith is nsPerCall under policy p.
func nsPerCallWith(h tracer.Handler, p tracer.Policy, argv ...string) (float64, error) {
	out, err := runCmd(h, p, "", argv...)
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(strings.TrimSpace(out), 64)
}

func wallTime(h tracer.Handler, p tracer.Policy, dir string, argv ...string) (float64, error) {
	start := time.Now()
	_, err := runCmd(h, p, dir, argv...)
	return float64(time.Since(start).Nanoseconds()), err
}

func runCmd(h tracer.Handler, p tracer.Policy, dir string, argv ...string) (string, error) {
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
		st, err := tracer.Trace(context.Background(), tracer.Config{Path: argv[0], Args: argv, Dir: dir, Stdout: f, Stderr: os.Stderr, Handler: h, Policy: p, Engine: engine})
		if err != nil || st.ExitCode() != 0 {
			return "", fmt.Errorf("traced %v: %v %v", argv, st, err)
		}
	}
	b, err := os.ReadFile(f.Name())
	return string(b), err
}

func med(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
