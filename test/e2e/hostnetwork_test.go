//go:build e2e

package e2e

import (
	"context"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// A pod on the node's network (hostNetwork: true): --incoming is refused
// in one line before any agent is added; with --incoming-host-network a
// steal session serves the node's port, and when it ends the node (this
// machine: the test runs as root on it) has no table of the agent left.
func TestHostNetworkPodIncomingNeedsItsFlag(t *testing.T) {
	programs(t)
	ns := tempNamespace(t, "mirror-hostnet")
	applyManifest(t, `apiVersion: v1
kind: Pod
metadata: {name: hostnet, namespace: `+ns+`, labels: {app: hostnet}}
spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 1
  containers:
  - name: sh
    image: mirror.test/busybox:v1
    imagePullPolicy: IfNotPresent
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`)
	kubectl(t, "wait", "--for=condition=Ready", "pod/hostnet", "-n", ns, "--timeout=90s")
	// The echo pods' port: the node forwards their traffic through the same prerouting
	// hook, and a steal of the node's port must not take it.
	port := "8080"
	if ln, err := net.Listen("tcp", ":"+port); err != nil {
		t.Fatalf("this machine (the node) already listens on %s: %v", port, err)
	} else {
		ln.Close()
	}

	_, errOut, code := plugin(t, "run", "-n", ns, "pod/hostnet", "--incoming", "steal", "--", testProgs.httpserve, port).run()
	line := oneErrorLine(t, errOut)
	if code == 0 || !strings.Contains(line, "pod/hostnet uses the node's network (hostNetwork: true)") || !strings.Contains(line, "--incoming-host-network") {
		t.Fatalf("exit %d: %s", code, line)
	}
	if names := ephemeralIn(t, ns, "hostnet"); len(names) != 0 {
		t.Fatalf("the refused run added %v", names)
	}

	before := nodeTables(t)
	t.Cleanup(func() { dropNewTables(t, before) })
	s := plugin(t, "run", "-n", ns, "pod/hostnet", "--incoming", "steal", "--incoming-host-network", "--", testProgs.httpserve, port).serving()
	tables := newTables(t, before)
	if len(tables) == 0 {
		t.Fatalf("no table of the agent in the node's network namespace while stealing:\n%s", s.err())
	}
	p, err := clientset(t).CoreV1().Pods(ns).Get(context.Background(), "hostnet", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out := fromToolbox(t, "timeout 5 wget -qO- http://"+p.Status.HostIP+":"+port+"/hostnet"); !strings.Contains(out, `"local":true`) {
		t.Errorf("a request to the node's port %s did not reach the program: %q\n%s", port, out, s.err())
	}
	target, _ := echoPods(t)
	if out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":"+port+"/pod"); !strings.Contains(out, `"pod":"`+target.name+`"`) {
		t.Errorf("a request to another pod's port %s was taken by the host-network steal: %q", port, out)
	}
	s.stop(t)
	testenv.Eventually(t, 30*time.Second, func() bool { return len(newTables(t, before)) == 0 },
		func() string {
			return "the agent's tables are still in the node's ruleset: " + strings.Join(newTables(t, before), ", ")
		})
}

// nodeTables lists the nftables tables of this machine's own network
// namespace (the node's) by name.
func nodeTables(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v\n%s", err, out)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "table" {
			names = append(names, f[2])
		}
	}
	return names
}

// newTables lists the agents' tables on the node that are not in before.
func newTables(t *testing.T, before []string) []string {
	t.Helper()
	var out []string
	for _, tb := range nodeTables(t) {
		if !slices.Contains(before, tb) && strings.HasPrefix(tb, "kubectl_mirror_") {
			out = append(out, tb)
		}
	}
	return out
}

// dropNewTables removes, from the node, the agents' tables a failed test
// left (those that were not there before it).
func dropNewTables(t *testing.T, before []string) {
	for _, tb := range newTables(t, before) {
		t.Logf("removing table inet %s, left on the node", tb)
		_ = exec.Command("nft", "delete", "table", "inet", tb).Run()
	}
}
