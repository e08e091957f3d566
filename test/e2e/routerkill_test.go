//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// Two users share a port by filter; the agent that routes it is killed
// outright. Both users' requests reach their programs again: the joined
// agent routes the port itself, and the router's user gets a new agent
// that joins it. The time each took is logged (docs/performance.md reports it).
func TestRoutingAgentKilledBothUsersRecover(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	alice := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--http-filter", "header:X-User: ^alice$",
		"--", testProgs.httpserve, "8080").serving()
	defer alice.stop(t)
	bob := plugin(t, "run", "pod/"+target.name, "--incoming", "steal",
		"--http-filter", "header:X-User: ^bob$", "--port-map", "8081:8080", "--", testProgs.httpserve, "8081").
		env("XDG_CONFIG_HOME=" + t.TempDir()).serving()
	defer bob.stop(t)
	reaches := func(user string, s *session, path string) bool {
		out, _, _ := runSplit(t, time.Minute, filepath.Join(repoRoot(t), "test", "cluster", "kubectl"),
			"exec", "toolbox", "-c", "sh", "--", "timeout", "2", "wget", "-qO-", "--header", "X-User: "+user, "http://"+target.ip+":8080"+path)
		return strings.Contains(out, `"local":true`) && strings.Contains(s.out(), "got GET "+path+"\n")
	}
	if !reaches("alice", alice, "/before-a") || !reaches("bob", bob, "/before-b") {
		t.Fatalf("not shared before the kill:\nalice:\n%s\nbob:\n%s", alice.err(), bob.err())
	}
	router := routingAgentPID(t, target.name)
	killed := time.Now()
	if err := syscall.Kill(router, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	back := map[string]time.Duration{}
	i := 0
	testenv.Eventually(t, 90*time.Second, func() bool {
		for user, s := range map[string]*session{"alice": alice, "bob": bob} {
			if _, ok := back[user]; !ok && reaches(user, s, fmt.Sprintf("/after-%s-%d", user, i)) {
				back[user] = time.Since(killed)
			}
		}
		i++
		return len(back) == 2
	}, func() string {
		return fmt.Sprintf("not every user got their requests back: %v\nalice:\n%s\nbob:\n%s\ntables:\n%s", back, alice.err(), bob.err(), podNetnsTables(t, target.name))
	})
	t.Logf("after kill -9 of the routing agent: alice's requests back after %v, bob's after %v", back["alice"], back["bob"])
}

// routingAgentPID is this machine's pid of the agent whose nftables table
// is in the pod: the one routing its ports. The table is named for the
// agent's pid in the pod's PID namespace.
func routingAgentPID(t *testing.T, pod string) int {
	t.Helper()
	m := regexp.MustCompile(`kubectl_mirror_\d+_(\d+)`).FindStringSubmatch(podNetnsTables(t, pod))
	if m == nil {
		t.Fatalf("no routing agent's table in pod %s", pod)
	}
	nsPID := m[1]
	agent := agentPID(t, pod, true)
	// Agents of the pod share a PID namespace: scan them for that pid.
	statuses, _ := filepath.Glob("/proc/[0-9]*/status")
	for _, st := range statuses {
		b, err := os.ReadFile(st)
		if err != nil || !strings.Contains(string(b), "Name:\tmirror-agent") {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f, ok := strings.CutPrefix(line, "NSpid:"); ok {
				ids := strings.Fields(f)
				if len(ids) > 1 && ids[len(ids)-1] == nsPID && sameNetns(ids[0], agent) {
					pid, _ := strconv.Atoi(ids[0])
					return pid
				}
			}
		}
	}
	t.Fatalf("no agent process with pid %s in pod %s", nsPID, pod)
	return 0
}

// sameNetns: the two processes share a network namespace.
func sameNetns(pid string, other int) bool {
	a, err1 := os.Readlink("/proc/" + pid + "/ns/net")
	b, err2 := os.Readlink("/proc/" + strconv.Itoa(other) + "/ns/net")
	return err1 == nil && err2 == nil && a == b
}
