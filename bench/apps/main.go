// Command apps-bench times real programs natively, under `kubectl mirror
// trace` (no cluster) and under `kubectl mirror run` against the local test
// cluster (agent reused), side by side in one run: each round runs a program
// natively, traced and run, one after the other, and the table shows the
// medians, their ratios to native, and the ratios net of the plugin's fixed
// start-up (`trace -- true` and `run -- true` minus native `true`, run in the
// same rounds), beside the targets. Run from the repository's root, as root (ptrace, the laptop
// network namespace), after `make build`:
//
//	go run ./bench/apps [-n 7] [-pod NAME] [-run=false]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	var o options
	flag.IntVar(&o.rounds, "n", 7, "rounds: each runs every program natively, traced and run, alternating; medians are reported")
	flag.StringVar(&o.plugin, "plugin", "bin/kubectl-mirror", "the plugin binary (make build)")
	flag.BoolVar(&o.run, "run", true, "measure `kubectl mirror run` against the local test cluster too (KUBECONFIG, else .cluster/kubeconfig)")
	flag.StringVar(&o.pod, "pod", "", "the pod to run as (default: a Ready pod of deploy/echo)")
	flag.StringVar(&o.url, "url", "http://echo/", "what the Java program GETs under `run` (natively and traced it GETs a loopback server this bench starts)")
	flag.Parse()
	if err := benchmark(o); err != nil {
		fmt.Fprintln(os.Stderr, "apps-bench:", err)
		os.Exit(1)
	}
}

type options struct {
	rounds      int
	plugin, pod string
	url         string
	run         bool
}

func benchmark(o options) error {
	if o.rounds < 1 {
		return errors.New("-n must be at least 1")
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "bench", "apps", "testdata")); err != nil {
		return errors.New("run from the repository's root: go run ./bench/apps")
	}
	plugin, err := filepath.Abs(o.plugin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(plugin); err != nil {
		return fmt.Errorf("%s: %w (make build)", o.plugin, err)
	}
	tmp, err := os.MkdirTemp("", "apps-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	b := &bench{repo: repo, plugin: plugin, rounds: o.rounds, tmp: tmp, url: o.url}
	if o.run {
		b.cluster(o.pod)
	} else {
		b.noRun = "not asked (-run=false)"
	}
	server, err := loopbackServer()
	if err != nil {
		return err
	}
	defer server.Close()

	loadStart := loadAverage()
	progs := b.programs("http://"+server.Addr().String()+"/", o.url)
	results := make([]result, len(progs))
	for i, p := range progs {
		fmt.Fprintf(os.Stderr, "apps-bench: %s\n", p.name)
		results[i] = b.measure(p)
	}
	b.print(os.Stdout, progs, results, loadStart, loadAverage())
	return nil
}
