package main

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
)

var modeNames = [nModes]string{"native", "trace", "run", "run --fs-view stops", "laptop.sh exec"}

// print writes the fixed start-up, then one row per program, then notes.
func (b *bench) print(w io.Writer, progs []program, rs []result, load0, load1 string) {
	where := "run: " + b.noRun
	if b.noRun == "" {
		where = "run: pod/" + b.pod + " from the laptop namespace, agent reused"
	}
	fmt.Fprintf(w, "\nreal programs natively, under `kubectl mirror trace` and `kubectl mirror run` (%s)\n", where)
	fmt.Fprintf(w, "medians of %d rounds; each round runs the program and `true` natively, traced and run, one after the other\n", b.rounds)
	fmt.Fprintf(w, "machine: %d CPUs, load average %s at start, %s at end\n\n", runtime.NumCPU(), load0, load1)
	b.printStartup(w, rs)

	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "program\tnative ms\ttrace ms\tx\tstart-up\tnet x\trun ms\tx\tstart-up\tnet x\tstops: run ms\tx\tstart-up\tnet x\ttarget net x\ttrace stops\tprocs i/l/n")
	var notes []string
	over, noise := false, false
	for i, p := range progs {
		r := rs[i]
		if r.missing != "" {
			fmt.Fprintf(tw, "%s\tnot installed\t\t\t\t\t\t\t\t\t\t\t\t\t<= %.2fx\t\t\n", p.name, p.target)
			notes = append(notes, fmt.Sprintf("%s: not measured: %s", p.name, r.missing))
			continue
		}
		cells := []string{p.name, "failed"}
		if r.failed[native] == "" {
			cells[1] = fmt.Sprintf("%.1f", r.ms[native])
		}
		for _, m := range []mode{traced, remote, remoteStops} {
			switch {
			case m != traced && b.noRun != "":
				cells = append(cells, "-", "", "", "")
			case r.failed[m] != "" || r.failed[native] != "":
				cells = append(cells, "failed", "", "", "")
			default:
				fixed := r.startup[m] - r.startup[native]
				net := (r.ms[m] - fixed) / r.ms[native]
				netCell := fmt.Sprintf("%.2fx", net)
				switch {
				case net > p.target:
					netCell, over = netCell+"*", true
				case net < 0.5:
					// The program took less than the start-up varies by.
					netCell, noise = "<=1x°", true
				}
				cells = append(cells, fmt.Sprintf("%.1f", r.ms[m]), fmt.Sprintf("%.2fx", r.ms[m]/r.ms[native]),
					fmt.Sprintf("+%.1f", fixed), netCell)
			}
		}
		stops, procs := "", ""
		if r.failed[traced] == "" {
			stops, procs = fmt.Sprintf("%.0f", r.calls), r.procs
		}
		cells = append(cells, fmt.Sprintf("<= %.2fx", p.target), stops, procs)
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
		for m, f := range r.failed {
			if f != "" {
				notes = append(notes, fmt.Sprintf("%s: %s failed: %s", p.name, modeNames[m], f))
			}
		}
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		fmt.Fprint(w, strings.TrimRight(line, " \n")+strings.Repeat("\n", strings.Count(line, "\n")))
	}

	fmt.Fprintln(w, "\nx: the median over native's. start-up: the fixed start-up in the row's own rounds (`trace/run -- true` minus `true`).")
	fmt.Fprintln(w, "net x: (median - start-up) / native, the figure the target is for")
	fmt.Fprintln(w, "run: --fs-view auto, the mount view as root (no file call stops); stops: run --fs-view stops, every file call stopped")
	if over {
		fmt.Fprintln(w, "*: over the target")
	}
	if noise {
		fmt.Fprintln(w, "°: the median less the start-up is under half of native's: the program's own time is within how much the start-up varies")
	}
	fmt.Fprintln(w, "trace stops: the calls served by the plugin's handlers, summed from trace's closing summary (\"intercepted:\"); each is a")
	fmt.Fprintln(w, "  notification or seccomp stop of an intercepted process or a stop of a launcher (sh, bash, env), which is also stepped")
	fmt.Fprintln(w, "  through its loader's first calls (bench/tracer counts those). Under run's mount view none of the file calls stop;")
	fmt.Fprintln(w, "  run prints no count. procs: processes intercepted/launchers/native, from the same summary")
	fmt.Fprintf(w, "java: natively and traced it GETs a loopback server of this bench; under run it GETs %s through the pod (DNS and the connection through the agent)\n", b.url)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
}

// printStartup writes the fixed start-up: the medians of every `true` run of
// every row.
func (b *bench) printStartup(w io.Writer, rs []result) {
	var all [nModes][]float64
	for _, r := range rs {
		for m := range nModes {
			all[m] = append(all[m], r.trueTimes[m]...)
		}
	}
	if len(all[native]) == 0 || len(all[traced]) == 0 {
		fmt.Fprintln(w, "fixed start-up: not measured")
		return
	}
	nat := median(all[native])
	fmt.Fprintf(w, "fixed start-up (medians of all %d rounds of all rows): native true %.1f ms; trace -- true %.1f ms: +%.1f ms (target <= 10 ms)",
		len(all[native]), nat, median(all[traced]), median(all[traced])-nat)
	if len(all[remote]) > 0 {
		fmt.Fprintf(w, "; run -- true %.1f ms: +%.1f ms", median(all[remote]), median(all[remote])-nat)
	}
	if len(all[remoteStops]) > 0 {
		fmt.Fprintf(w, "; run --fs-view stops -- true %.1f ms: +%.1f ms", median(all[remoteStops]), median(all[remoteStops])-nat)
	}
	if len(all[inLaptop]) > 0 {
		fmt.Fprintf(w, " (of which entering the laptop namespace, laptop.sh exec true: +%.1f ms)", median(all[inLaptop])-nat)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
}
