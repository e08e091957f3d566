//go:build e2e

// Package e2e holds the real-cluster suites. They need the test cluster that
// `make e2e` starts (test/cluster/up.sh) and run as root, because the "laptop"
// is a network namespace.
package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// repoRoot is the repository's top directory (the Makefile passes it).
func repoRoot(t *testing.T) string {
	t.Helper()
	if r := os.Getenv("MIRROR_REPO"); r != "" {
		return r
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(wd, "..", "..")
}

// kubeconfig is the admin kubeconfig the harness writes.
func kubeconfig(t *testing.T) string {
	t.Helper()
	p := os.Getenv("KUBECONFIG")
	if p == "" {
		p = filepath.Join(repoRoot(t), ".cluster", "kubeconfig")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no test cluster kubeconfig at %s: run `make cluster-up` first (%v)", p, err)
	}
	return p
}

func clientset(t *testing.T) *kubernetes.Clientset {
	t.Helper()
	_, cs := clientFor(t, kubeconfig(t))
	return cs
}

// clientFor is the REST config and clientset of a kubeconfig file.
func clientFor(t *testing.T, path string) (*rest.Config, *kubernetes.Clientset) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, cs
}

// run runs a command with a deadline and returns its combined output.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig(t))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// runSplit runs a command with a deadline and returns stdout, stderr and the
// exit code; only a failure to start fails the test.
func runSplit(t *testing.T, timeout time.Duration, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// kubectl runs the harness's kubectl against the test cluster and returns its
// stdout (kubectl's notes, such as "Defaulted container", go to stderr).
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runSplit(t, 2*time.Minute, filepath.Join(repoRoot(t), "test", "cluster", "kubectl"), args...)
	if code != 0 {
		t.Fatalf("kubectl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// inLaptop runs a command in the laptop network namespace.
func inLaptop(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	return run(t, timeout, laptopScript(t), append([]string{"exec", name}, args...)...)
}

// processesIn lists, on this machine, the live processes whose cgroup path
// names id (a container ID, a pod UID): the one /proc scan the suite uses to
// reach a pod's or container's namespaces and root.
func processesIn(id string) []int {
	var pids []int
	cgroups, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, cg := range cgroups {
		dir := filepath.Dir(cg)
		if b, err := os.ReadFile(cg); err == nil && strings.Contains(string(b), id) {
			if _, err := os.Stat(filepath.Join(dir, "ns", "net")); err == nil { // still alive
				pid, _ := strconv.Atoi(filepath.Base(dir))
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// connectionsThroughThePod finds the closing summary's count of the
// program's connections through the pod ("1 connection", "2 connections").
var connectionsThroughThePod = regexp.MustCompile(`\d+ connections? through the pod`)

// laptopScript runs a command in the laptop network namespace.
func laptopScript(t *testing.T) string {
	return filepath.Join(repoRoot(t), "test", "cluster", "laptop.sh")
}
