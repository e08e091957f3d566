package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// cluster readies the `run` column: the kubeconfig (KUBECONFIG, else the
// harness's .cluster/kubeconfig), the pod (a Ready pod of deploy/echo unless
// one is named), and the agent, started or found by one warm-up run that
// every later run reuses. When any of it fails, b.noRun says why.
func (b *bench) cluster(pod string) {
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
	fmt.Fprintf(os.Stderr, "apps-bench: run against pod/%s; warm-up run (agent started or reused)\n", pod)
	if _, _, err := b.once(program{argv: []string{"true"}}, remote); err != nil {
		b.noRun = "the warm-up run failed: " + err.Error()
	}
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
