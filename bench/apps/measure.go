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
)

// mode is how a program is run.
type mode int

const (
	native      mode = iota
	traced           // kubectl mirror trace -- CMD
	remote           // kubectl mirror run pod/P -- CMD, from the laptop namespace (--fs-view auto: the mount view)
	remoteStops      // the same with --fs-view stops: every file call stopped
	inLaptop         // laptop.sh exec CMD: the namespace entry that run's times include
	nModes
)

// bench holds what every measurement needs.
type bench struct {
	repo, plugin, tmp string
	url               string // what the Java program GETs under run
	rounds            int
	// The cluster, for `run`: noRun says why it is not measured.
	laptop, kubeconfig, pod string
	podNamed                bool // -pod named it: never pick another
	noRun                   string
}

// result is one row: medians in ms (0: not measured), the same for `true`
// run in the same rounds (the fixed start-up of each mode is true's median
// minus native true's), and what trace's closing summary counted.
type result struct {
	ms, startup [nModes]float64
	failed      [nModes]string
	missing     string
	calls       float64 // intercepted calls, the summary's "intercepted:" line summed (median)
	procs       string  // the summary's processes: intercepted/launchers/native
	trueTimes   [nModes][]float64
}

// measure warms each mode up once, then runs b.rounds rounds, each running
// the program and `true` natively, traced and run, one after the other (and
// `true` in the laptop namespace, the part of run's start-up that is the
// harness's), and keeps the medians.
func (b *bench) measure(p program) result {
	r := result{missing: p.missing}
	if p.missing != "" {
		return r
	}
	modes := []mode{native, traced}
	if b.noRun == "" {
		modes = append(modes, remote, remoteStops)
	}
	for _, m := range modes { // warm caches (and the agent)
		if _, _, err := b.onceRetried(p, m); err != nil {
			r.failed[m] = err.Error()
		}
	}
	type job struct {
		p     program
		m     mode
		times *[]float64
	}
	var jobs []job
	var times [nModes][]float64
	for _, m := range modes {
		jobs = append(jobs, job{p, m, &times[m]}, job{trueProgram, m, &r.trueTimes[m]})
	}
	if b.noRun == "" {
		jobs = append(jobs, job{trueProgram, inLaptop, &r.trueTimes[inLaptop]})
	}
	var calls []float64
	for i := 0; i < b.rounds; i++ {
		for _, j := range jobs {
			if r.failed[j.m] != "" {
				continue
			}
			d, sum, err := b.onceRetried(j.p, j.m)
			if err != nil {
				r.failed[j.m] = err.Error()
				continue
			}
			*j.times = append(*j.times, d)
			if j.m == traced && j.p.name == p.name {
				calls = append(calls, sum.calls)
				r.procs = sum.procs
			}
		}
	}
	for m := range nModes {
		if r.failed[m] == "" && len(times[m]) > 0 {
			r.ms[m] = median(times[m])
		}
		if r.failed[m] == "" && len(r.trueTimes[m]) > 0 {
			r.startup[m] = median(r.trueTimes[m])
		}
	}
	if len(calls) > 0 {
		r.calls = median(calls)
	}
	return r
}

// trueProgram is what the fixed start-up is measured with.
var trueProgram = program{name: "true", argv: []string{"true"}}

// command is argv as mode m runs it.
func (b *bench) command(p program, m mode) []string {
	switch m {
	case traced:
		return append([]string{b.plugin, "trace", "--"}, p.argv...)
	case remote, remoteStops:
		argv := p.argv
		if p.runArgv != nil {
			argv = p.runArgv
		}
		view := "--fs-view=auto"
		if m == remoteStops {
			view = "--fs-view=stops"
		}
		return append([]string{b.laptop, "exec", "env", "KUBECONFIG=" + b.kubeconfig, b.plugin, "run", "pod/" + b.pod, view, "--"}, argv...)
	case inLaptop:
		return append([]string{b.laptop, "exec"}, p.argv...)
	}
	return p.argv
}

// summary is what trace's closing lines say.
type summary struct {
	calls float64
	procs string
}

// once runs p in mode m and returns its wall time in ms. Output goes to
// files (trace writes a line per intercepted call to stderr).
func (b *bench) once(p program, m mode) (float64, summary, error) {
	argv := b.command(p, m)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := os.Create(filepath.Join(b.tmp, "stdout"))
	if err != nil {
		return 0, summary{}, err
	}
	defer out.Close()
	errOut, err := os.Create(filepath.Join(b.tmp, "stderr"))
	if err != nil {
		return 0, summary{}, err
	}
	defer errOut.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = p.dir, out, errOut
	if cmd.Dir == "" {
		cmd.Dir = b.repo
	}
	start := time.Now()
	err = cmd.Run()
	d := float64(time.Since(start).Nanoseconds()) / 1e6
	text, _ := os.ReadFile(errOut.Name())
	if err != nil {
		return 0, summary{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, tail(string(text), 3))
	}
	if m != traced {
		return d, summary{}, nil
	}
	return d, parseSummary(string(text)), nil
}

// parseSummary reads trace's closing summary:
//
//	processes: 1 intercepted, 0 launchers, 0 native
//	intercepted: access 1, newfstatat 67, openat 31, readlink 2
func parseSummary(text string) summary {
	var s summary
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "processes: "):
			var i, l, n int
			if _, err := fmt.Sscanf(line, "processes: %d intercepted, %d launchers, %d native", &i, &l, &n); err == nil {
				s.procs = fmt.Sprintf("%d/%d/%d", i, l, n)
			}
		case strings.HasPrefix(line, "intercepted: "):
			s.calls = 0
			for _, c := range strings.Split(strings.TrimPrefix(line, "intercepted: "), ", ") {
				if f := strings.Fields(c); len(f) == 2 {
					if x, err := strconv.Atoi(f[1]); err == nil {
						s.calls += float64(x)
					}
				}
			}
		}
	}
	return s
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func median(xs []float64) float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// loadAverage is the 1-, 5- and 15-minute load averages.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
