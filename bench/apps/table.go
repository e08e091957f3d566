package main

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
)

// print writes the fixed start-up, then one row per program, then notes.
func (b *bench) print(w io.Writer, start result, progs []program, rs []result, load0, load1 string) {
	where := "run: " + b.noRun
	if b.noRun == "" {
		where = "run: pod/" + b.pod + " from the laptop namespace, agent reused"
	}
	fmt.Fprintf(w, "\nreal programs natively, under `kubectl mirror trace` and `kubectl mirror run` (%s)\n", where)
	fmt.Fprintf(w, "medians of %d rounds, each round running native, trace and run one after the other\n", b.rounds)
	fmt.Fprintf(w, "machine: %d CPUs, load average %s at start, %s at end\n\n", runtime.NumCPU(), load0, load1)

	var fixed [nModes]float64
	if start.failed[native] != "" || start.failed[traced] != "" {
		fmt.Fprintf(w, "fixed start-up: failed: %s%s\n", start.failed[native], start.failed[traced])
	} else {
		fixed[traced] = start.ms[traced] - start.ms[native]
		fmt.Fprintf(w, "fixed start-up: native true %.1f ms; trace -- true %.1f ms: +%.1f ms (target <= 10 ms)",
			start.ms[native], start.ms[traced], fixed[traced])
		switch {
		case b.noRun != "":
		case start.failed[remote] != "":
			fmt.Fprintf(w, "; run -- true failed: %s", start.failed[remote])
		default:
			fixed[remote] = start.ms[remote] - start.ms[native]
			fmt.Fprintf(w, "; run -- true %.1f ms: +%.1f ms", start.ms[remote], fixed[remote])
			if start.failed[inLaptop] == "" {
				fmt.Fprintf(w, " (of which entering the laptop namespace, laptop.sh exec true: +%.1f ms)", start.ms[inLaptop]-start.ms[native])
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)

	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "program\tnative ms\ttrace ms\tx\tnet x\trun ms\tx\tnet x\ttarget net x\ttrace stops\tprocs i/l/n")
	var failures []string
	over := false
	for i, p := range progs {
		r := rs[i]
		if r.missing != "" {
			fmt.Fprintf(tw, "%s\tnot installed\t\t\t\t\t\t\t<= %.2fx\t\t\n", p.name, p.target)
			failures = append(failures, fmt.Sprintf("%s: not measured: %s", p.name, r.missing))
			continue
		}
		cells := []string{p.name, msCell(r, native)}
		for _, m := range []mode{traced, remote} {
			switch {
			case m == remote && b.noRun != "":
				cells = append(cells, "-", "", "")
			case r.failed[m] != "" || r.failed[native] != "":
				cells = append(cells, "failed", "", "")
			default:
				net := (r.ms[m] - fixed[m]) / r.ms[native]
				mark := ""
				if net > p.target {
					mark, over = "*", true
				}
				cells = append(cells, fmt.Sprintf("%.1f", r.ms[m]), fmt.Sprintf("%.2fx", r.ms[m]/r.ms[native]), fmt.Sprintf("%.2fx%s", net, mark))
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
				failures = append(failures, fmt.Sprintf("%s: %s failed: %s", p.name, []string{"native", "trace", "run", "laptop"}[m], f))
			}
		}
	}
	tw.Flush()
	for _, line := range strings.SplitAfter(table.String(), "\n") {
		fmt.Fprint(w, strings.TrimRight(line, " \n")+strings.Repeat("\n", strings.Count(line, "\n")))
	}

	fmt.Fprintln(w, "\nx: the median over native's. net x: (median - the fixed start-up of that column) / native, the figure the target is for")
	if over {
		fmt.Fprintln(w, "*: over the target")
	}
	fmt.Fprintln(w, "trace stops: the calls served by the plugin's handlers, summed from trace's closing summary (\"intercepted:\"); each is a")
	fmt.Fprintln(w, "  seccomp stop of an intercepted process or a stop of a launcher (sh, bash, env). Launchers also stop at every other")
	fmt.Fprintln(w, "  syscall's entry and exit, which trace does not count (bench/tracer prints those from the tracer's own counters);")
	fmt.Fprintln(w, "  `run` prints no count. procs: processes intercepted/launchers/native, from the same summary")
	fmt.Fprintf(w, "java: natively and traced it GETs a loopback server of this bench; under run it GETs %s through the pod (DNS and the connection through the agent)\n", b.url)
	for _, f := range failures {
		fmt.Fprintln(w, f)
	}
}

func msCell(r result, m mode) string {
	if r.failed[m] != "" {
		return "failed"
	}
	return fmt.Sprintf("%.1f", r.ms[m])
}
