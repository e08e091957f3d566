package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// cluster readies the `run` column: the kubeconfig (KUBECONFIG, else the
// harness's .cluster/kubeconfig), the pod (a Ready pod of deploy/echo unless
// one is named), and the agent, started or found by one warm-up run that
// every later run reuses. When any of it fails, b.noRun says why.
func (b *bench) cluster(pod string) {
	b.podNamed = pod != ""
	b.laptop = filepath.Join(b.repo, "test", "cluster", "laptop.sh")
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		kc = filepath.Join(b.repo, ".cluster", "kubeconfig")
	}
	if _, err := os.Stat(kc); err != nil {
		b.noRun = fmt.Sprintf("no cluster: %s not found (make cluster-up)", kc)
		return
	}
	b.kubeconfig, _ = filepath.Abs(kc)
	if pod == "" {
		var err error
		if pod, err = b.echoPod(); err != nil {
			b.noRun = err.Error()
			return
		}
	}
	b.pod = pod
	if err := b.warmUp(); err != nil {
		b.noRun = "the warm-up run failed: " + err.Error()
	}
}

// warmUp runs `run -- true` once: the agent is started, or found, and every
// later run reuses it.
func (b *bench) warmUp() error {
	fmt.Fprintf(os.Stderr, "apps-bench: run against pod/%s; warm-up run (agent started or reused)\n", b.pod)
	_, _, err := b.once(program{argv: []string{"true"}}, remote)
	return err
}

// onceRetried is once, tried again when a `run` fails: the test cluster is
// shared, and another user's `make e2e` may restart it (and its pods) under
// the bench. Before each retry it waits for a Ready echo pod (the same pod
// when -pod named one) and warms the agent up again, untimed.
func (b *bench) onceRetried(p program, m mode) (float64, summary, error) {
	d, sum, err := b.once(p, m)
	for attempt := 0; err != nil && (m == remote || m == remoteStops) && attempt < 2; attempt++ {
		fmt.Fprintf(os.Stderr, "apps-bench: %s: run failed (%v); waiting for the cluster, then again\n", p.name, err)
		deadline := time.Now().Add(3 * time.Minute)
		for {
			werr := error(nil)
			if !b.podNamed {
				var pod string
				if pod, werr = b.echoPod(); werr == nil {
					b.pod = pod
				}
			}
			if werr == nil {
				if werr = b.warmUp(); werr == nil {
					break
				}
			}
			if time.Now().After(deadline) {
				return 0, summary{}, fmt.Errorf("%w (and the cluster did not come back: %v)", err, werr)
			}
			time.Sleep(5 * time.Second)
		}
		d, sum, err = b.once(p, m)
	}
	return d, sum, err
}

// echoPod is the name of a Ready pod of deploy/echo.
func (b *bench) echoPod() (string, error) {
	cmd := exec.Command(filepath.Join(b.repo, "test", "cluster", "kubectl"), "get", "pods", "-l", "app=echo", "-o",
		`jsonpath={range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("listing the echo pods: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == "True" {
			return f[0], nil
		}
	}
	return "", fmt.Errorf("no Ready pod of deploy/echo")
}
