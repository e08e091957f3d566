//go:build e2e

package e2e

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// dropLaptopConnections destroys every TCP connection from the laptop to the
// API server, as a network blip or a restarted load balancer would: the
// plugin's port-forward and its API client connections end at once.
func dropLaptopConnections(t *testing.T) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := inLaptop(t, 10*time.Second, "ss", "-K", "-t", "dst", u.Hostname(), "dport", "=", ":"+u.Port()); err != nil {
		t.Fatalf("ss -K: %v\n%s", err, out)
	}
}

// survivesFault runs a program that holds a connection through the pod,
// injects the fault, and checks what the program sees: the connection in
// flight is reset (not left hanging), and after the plugin reconnects a new
// request (DNS and TCP) answers from the target pod. It returns the ended run.
func survivesFault(t *testing.T, path string, fault func(s *session, pod string)) *session {
	t.Helper()
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--", netprobe, "reconnect", "echo:9000", "http://echo/"+path).start()
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Contains(s.out(), "inflight up") },
		func() string { return s.out() + s.err() })

	fault(s, target.name)

	testenv.Eventually(t, 60*time.Second, func() bool { return strings.Contains(s.out(), "inflight ended") },
		func() string { return "the in-flight connection hung:\n" + s.out() + s.err() })
	if !strings.Contains(s.out(), "inflight ended: reset") {
		t.Errorf("in-flight connection: want a reset, got:\n%s", s.out())
	}
	testenv.Eventually(t, 120*time.Second, func() bool { return strings.Contains(s.out(), "after: ") },
		func() string { return "no request worked after the fault:\n" + s.out() + s.err() })
	line := s.out()[strings.Index(s.out(), "after: ")+len("after: "):]
	checkCaller(t, strings.SplitN(line, "\n", 2)[0], target.name, target.ip)
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("plugin: %v\n%s", err, s.err())
	}
	for _, want := range []string{"connection to the agent lost", "reconnected to the agent"} {
		if !strings.Contains(s.err(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, s.err())
		}
	}
	return s
}

// TestDroppedPortForwardReconnects: the port-forward drops mid-session; the
// plugin finds the same agent again (no new ephemeral container).
func TestDroppedPortForwardReconnects(t *testing.T) {
	var pod string
	var agentsBefore []string
	survivesFault(t, "after-drop", func(_ *session, p string) {
		pod, agentsBefore = p, ephemeralNames(t, p)
		dropLaptopConnections(t)
	})
	if after := ephemeralNames(t, pod); len(after) != len(agentsBefore) {
		t.Errorf("reconnect made a new agent (%v -> %v); the running one should be found again", agentsBefore, after)
	}
}

// TestStealIsRestoredAfterADroppedPortForward: the agent removes the pod's
// redirect when it loses the session; after the reconnect the plugin asks for
// it again, and the pod's port is stolen to the local program once more.
func TestStealIsRestoredAfterADroppedPortForward(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	stolen := func() bool {
		return strings.Contains(fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/stolen"), `"local":true`)
	}
	if !stolen() {
		t.Fatal("not stolen before the drop")
	}
	agent := agentWithNetAdmin(t, target.name)

	dropLaptopConnections(t)

	testenv.Eventually(t, 60*time.Second, func() bool { return strings.Contains(s.err(), "steal again: the pod's port 8080") },
		func() string { return "the redirect was not made again:\n" + s.err() })
	if !stolen() {
		t.Fatalf("not stolen after the reconnect:\n%s", s.err())
	}
	s.stop(t)
	checkRestored(t, target.name, target.ip)
	// The same agent served both links, and the old session's end, noticed
	// after the new one took the port over, did not break it.
	if err := syscall.Kill(agent, 0); err != nil {
		t.Fatalf("the agent that served the steal is gone after the reconnect: %v", err)
	}
}

// TestKilledAgentIsReplaced: the agent dies mid-session (OOM-killed, say);
// the plugin finds another live agent of the pod or starts a new one.
func TestKilledAgentIsReplaced(t *testing.T) {
	survivesFault(t, "after-kill", func(s *session, pod string) {
		if err := syscall.Kill(servingAgentPID(t, pod, s.err()), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	})
}

// servingAgentPID finds, on this machine, the pid of the agent the plugin
// last named on stderr ("reusing agent X", "starting agent X").
func servingAgentPID(t *testing.T, pod, stderr string) int {
	t.Helper()
	names := regexp.MustCompile(`agent (mirror-agent-[0-9a-f]+)`).FindAllStringSubmatch(stderr, -1)
	if len(names) == 0 {
		t.Fatalf("the plugin named no agent:\n%s", stderr)
	}
	name := names[len(names)-1][1]
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, st := range p.Status.EphemeralContainerStatuses {
		if st.Name == name {
			_, id, _ = strings.Cut(st.ContainerID, "://")
		}
	}
	if id == "" {
		t.Fatalf("agent %s has no container in pod %s", name, pod)
	}
	if pids := processesIn(id); len(pids) > 0 {
		return pids[0]
	}
	t.Fatalf("no process of agent %s (%s) on this machine", name, id)
	return 0
}

// TestCtrlCAtEveryStartupPhase: SIGINT at several moments after the plugin
// started talking (resolving, reaching the agent, fetching files, launching
// the program) ends the run with the interrupt's code and one plain line,
// and leaves no process of the program behind.
func TestCtrlCAtEveryStartupPhase(t *testing.T) {
	const marker = "31.4159" // sleep's argument, to find a leaked program
	for _, delay := range []time.Duration{0, 20 * time.Millisecond, 60 * time.Millisecond, 150 * time.Millisecond, 400 * time.Millisecond} {
		s := plugin(t, "run", "deploy/echo", "--", "sleep", marker).start()
		testenv.Eventually(t, 60*time.Second, func() bool { return strings.Contains(s.err(), "target ") },
			func() string { return s.err() })
		time.Sleep(delay) // the behaviour under test: SIGINT this long into the start-up
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- s.cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("after %s: the plugin did not end on SIGINT:\n%s", delay, s.err())
		}
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 130 {
			t.Errorf("after %s: exit %d (%v), want 130:\n%s", delay, code, err, s.err())
		}
		if strings.Contains(s.err(), "error:") || strings.Contains(s.err(), "goroutine ") {
			t.Errorf("after %s: more than a plain line:\n%s", delay, s.err())
		}
		if pids := processesWithArg(marker); len(pids) > 0 {
			t.Fatalf("after %s: the program outlived the plugin: %v", delay, pids)
		}
	}
}

// processesWithArg lists the processes on this machine with arg in argv.
func processesWithArg(arg string) []string {
	var pids []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, cl := range cmdlines {
		b, _ := os.ReadFile(cl)
		for _, a := range strings.Split(string(b), "\x00") {
			if a == arg {
				pids = append(pids, filepath.Base(filepath.Dir(cl)))
			}
		}
	}
	return pids
}
