//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// fromToolbox runs a shell script in the in-cluster client pod.
func fromToolbox(t *testing.T, script string) string {
	t.Helper()
	return kubectl(t, "exec", "toolbox", "-c", "sh", "--", "sh", "-c", script)
}

// podNetnsTables lists the nftables tables in the pod's network namespace,
// entered from this machine through one of the pod's processes.
func podNetnsTables(t *testing.T, pod string) string {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range processesIn(string(p.UID)) {
		out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "nft", "list", "tables").CombinedOutput()
		if err == nil {
			return string(out)
		}
	}
	t.Fatalf("no process of pod %s found on this machine", pod)
	return ""
}

// serviceRequests sends n GETs to the echo Service from the toolbox, each with
// its own path, and returns the replies in order.
func serviceRequests(t *testing.T, prefix string, n int) []map[string]any {
	t.Helper()
	out := fromToolbox(t, fmt.Sprintf(`for i in $(seq 1 %d); do timeout 5 wget -qO- http://echo/%s/$i; echo; done`, n, prefix))
	var replies []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			var r map[string]any
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("reply %q: %v", line, err)
			}
			replies = append(replies, r)
		}
	}
	if len(replies) != n {
		t.Fatalf("%d replies to %d requests:\n%s", len(replies), n, out)
	}
	return replies
}

func TestIncomingMirror(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--", testProgs.httpserve, "8080").serving()
	replies := serviceRequests(t, "m", 100)
	var hitTarget []string
	for i, r := range replies {
		if r["local"] != nil {
			t.Fatalf("request %d was answered by the local program in mirror mode: %v", i+1, r)
		}
		if r["pod"] == target.name {
			hitTarget = append(hitTarget, r["path"].(string))
		}
	}
	if len(hitTarget) == 0 {
		t.Fatal("no request reached the target pod")
	}
	testenv.Eventually(t, 15*time.Second, func() bool {
		for _, p := range hitTarget {
			if !strings.Contains(s.out(), "got GET "+p+"\n") {
				return false
			}
		}
		return true
	}, func() string {
		return fmt.Sprintf("copies of %v expected, local program printed:\n%s", hitTarget, s.out())
	})
	if c := strings.Count(s.out(), "got GET /m/"); c != len(hitTarget) {
		t.Fatalf("local program got %d copies, %d requests hit the target", c, len(hitTarget))
	}
	s.stop(t)
	checkRestored(t, target.name, target.ip)
}

// checkRestored: requests reach the pod's own app, and no rule of ours is left.
func checkRestored(t *testing.T, pod, ip string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() bool { return !strings.Contains(podNetnsTables(t, pod), "kubectl_mirror") },
		func() string { return podNetnsTables(t, pod) })
	for i := 0; i < 5; i++ {
		out := fromToolbox(t, "timeout 5 wget -qO- http://"+ip+":8080/after")
		if !strings.Contains(out, `"pod":"`+pod+`"`) {
			t.Fatalf("after the session, the pod did not answer: %s", out)
		}
	}
}

func TestIncomingStealWithHeaderFilterOnOneConnection(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--http-filter", "header:X-User: ^alice$", "--", testProgs.httpserve, "8080").serving()
	// One keep-alive connection, X-User alternating alice, bob, alice, ...
	out := fromToolbox(t, "timeout 20 mirror-echo mixed http://"+target.ip+":8080/mixed 6")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("want 6 replies, got %q", out)
	}
	for i, l := range lines {
		local := strings.Contains(l, `"local":true`)
		if alice := i%2 == 0; alice != local {
			t.Fatalf("request %d (alice=%v) answered by local=%v: %s", i, alice, local, l)
		}
	}
	if strings.Count(s.out(), "got GET /mixed/") != 3 {
		t.Fatalf("local program saw:\n%s", s.out())
	}
	s.stop(t)
	checkRestored(t, target.name, target.ip)
}

func TestIncomingStealAndKillNine(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	for _, r := range serviceRequests(t, "s", 20) {
		if r["pod"] == target.name {
			t.Fatalf("the target's own app answered while stolen: %v", r)
		}
	}
	direct := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/direct")
	if !strings.Contains(direct, `"local":true`) {
		t.Fatalf("a request to the target pod was not stolen: %s", direct)
	}
	// The plugin dies without a word: the agent notices the lost session.
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	checkRestored(t, target.name, target.ip)
}

func TestIncomingPlainTCPMirrorAndSteal(t *testing.T) {
	target, _ := echoPods(t)
	copies := filepath.Join(t.TempDir(), "copies")
	if err := os.WriteFile(copies, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	send := "echo tcp-hello | timeout 10 nc -w 5 " + target.ip + " 9000"
	// Mirror: the pod's TCP echo answers, socat (the local program) records a copy.
	s := plugin(t, "run", "pod/"+target.name, "--", "socat", "TCP-LISTEN:9000,reuseaddr,fork", "SYSTEM:cat >> "+copies).serving()
	if out := fromToolbox(t, send); !strings.HasPrefix(out, "remote=") || !strings.Contains(out, "tcp-hello") {
		t.Fatalf("mirror: client got %q, want the pod's echo", out)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { b, _ := os.ReadFile(copies); return strings.Contains(string(b), "tcp-hello") },
		func() string { b, _ := os.ReadFile(copies); return "copies: " + string(b) })
	s.stop(t)
	// Steal: the local program answers.
	s = plugin(t, "run", "-v", "2", "pod/"+target.name, "--incoming", "steal", "--", "socat", "TCP-LISTEN:9000,reuseaddr,fork", "SYSTEM:echo local-tcp").serving()
	if out := fromToolbox(t, send); strings.TrimSpace(out) != "local-tcp" {
		t.Fatalf("steal: client got %q; the plugin said:\n%s", out, s.err())
	}
	s.stop(t)
	testenv.Eventually(t, 30*time.Second, func() bool { return !strings.Contains(podNetnsTables(t, target.name), "kubectl_mirror") },
		func() string { return podNetnsTables(t, target.name) })
	if out := fromToolbox(t, send); !strings.HasPrefix(out, "remote=") {
		t.Fatalf("after steal: client got %q, want the pod's echo", out)
	}
}

// agentWithNetAdmin finds, on this machine, the pid of the pod's agent with
// NET_ADMIN (the one serving incoming traffic).
func agentWithNetAdmin(t *testing.T, pod string) int {
	t.Helper()
	return agentPID(t, pod, true)
}

// agentPID finds, on this machine, the pid of a live agent of the pod, with
// NET_ADMIN or without.
func agentPID(t *testing.T, pod string, netAdmin bool) int {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, cl := range cmdlines {
		b, _ := os.ReadFile(cl)
		if !bytes.HasPrefix(b, []byte("/mirror-agent\x00")) {
			continue
		}
		dir := filepath.Dir(cl)
		cg, _ := os.ReadFile(filepath.Join(dir, "cgroup"))
		status, _ := os.ReadFile(filepath.Join(dir, "status"))
		if !bytes.Contains(cg, []byte(string(p.UID))) {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if hex, ok := strings.CutPrefix(line, "CapEff:\t"); ok {
				var caps uint64
				fmt.Sscanf(hex, "%x", &caps)
				if (caps&(1<<12) != 0) == netAdmin { // CAP_NET_ADMIN
					var pid int
					fmt.Sscanf(filepath.Base(dir), "%d", &pid)
					return pid
				}
			}
		}
	}
	t.Fatalf("no agent (NET_ADMIN %v) in pod %s on this machine", netAdmin, pod)
	return 0
}

// TestIncomingAgentCrashRestoresThePod: an agent killed outright cannot clean
// up; its redirect expires unless renewed, and the pod's app answers again.
// The plugin goes too (a live one would start a new agent and steal again).
func TestIncomingAgentCrashRestoresThePod(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	if out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/before"); !strings.Contains(out, `"local":true`) {
		t.Fatalf("not stolen before the crash: %s", out)
	}
	_ = s.cmd.Process.Signal(syscall.SIGSTOP)
	if err := syscall.Kill(agentWithNetAdmin(t, target.name), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	testenv.Eventually(t, 30*time.Second, func() bool {
		out, _, _ := runSplit(t, time.Minute, filepath.Join(repoRoot(t), "test", "cluster", "kubectl"),
			"exec", "toolbox", "-c", "sh", "--", "timeout", "3", "wget", "-qO-", "http://"+target.ip+":8080/after-crash")
		return strings.Contains(out, `"pod":"`+target.name+`"`)
	}, func() string { return "the pod's app never answered again; tables:\n" + podNetnsTables(t, target.name) })
	// The next agent removes the dead one's table before its own goes in,
	// and its own goes at its end: nothing of ours is left in the pod. (The
	// pod may be briefly unready from the dead redirect: wait for it.)
	echoPods(t)
	next := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	if n := strings.Count(podNetnsTables(t, target.name), "kubectl_mirror"); n != 1 {
		t.Fatalf("%d tables of ours with one live agent:\n%s", n, podNetnsTables(t, target.name))
	}
	next.stop(t)
	checkRestored(t, target.name, target.ip)
}

// A program that closes its listener and keeps running gives the port back
// to the pod's app at once; when it listens again, it is stolen again.
func TestIncomingWithdrawnWhenTheProgramStopsListening(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", netprobe, "relisten", "8080").serving()
	defer s.stop(t)
	get := func(path string) string {
		return fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080"+path+" 2>&1; true")
	}
	if out := get("/before"); !strings.Contains(out, `"local":true`) {
		t.Fatalf("not stolen: %s", out)
	}
	if out := get("/close"); !strings.Contains(out, `"local":true`) {
		t.Fatalf("/close not stolen: %s", out)
	}
	testenv.Eventually(t, 20*time.Second, func() bool { return strings.Contains(s.out(), "closed") }, s.out)
	closedAt := time.Now()
	// Before the program listens again (15 s later), the app has its port back.
	testenv.Eventually(t, 12*time.Second, func() bool { return strings.Contains(get("/after-close"), `"pod":"`+target.name+`"`) },
		func() string { return "the pod's app did not get its port back:\n" + s.err() })
	t.Logf("the pod's app answered again %s after the listener closed", time.Since(closedAt).Round(100*time.Millisecond))
	// Connections the program no longer takes go to the app at once; the
	// redirect itself goes when the plugin sees the listener gone.
	testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(s.err(), "no longer listens on port 8080") },
		func() string { return "no word of the withdrawal:\n" + s.err() })
	if n := strings.Count(podNetnsTables(t, target.name), "kubectl_mirror"); n != 0 {
		t.Fatalf("a rule of ours is left while the program does not listen:\n%s", podNetnsTables(t, target.name))
	}
	testenv.Eventually(t, 30*time.Second, func() bool { return strings.Contains(s.out(), "listening again") }, s.out)
	testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(get("/again"), `"local":true`) },
		func() string { return "not stolen again after listening again:\n" + s.err() })
}

// During an unfiltered steal of the port the readiness probe uses, with a
// local build whose health check fails, the pod stays Ready: the kubelet's
// probes reach the pod's own app.
func TestProbesStayTheAppsUnderSteal(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080", "/ready").serving()
	defer s.stop(t)
	if out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/ready 2>&1; true"); !strings.Contains(out, "500") {
		t.Fatalf("an ordinary request for /ready was not stolen (want the program's 500): %s", out)
	}
	// The readiness probe runs every 2 s and fails the pod after 3 misses:
	// the pod must stay Ready for 12 s.
	for end := time.Now().Add(12 * time.Second); time.Now().Before(end); {
		p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), target.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !podReady(p) {
			t.Fatalf("pod %s went NotReady during the steal", target.name)
		}
		time.Sleep(500 * time.Millisecond) // the behaviour under test: Ready all along, checked twice a second
	}
	if n := strings.Count(s.out(), "got GET /ready"); n != 1 {
		t.Fatalf("the program saw /ready %d times (the probes must not reach it):\n%s", n, s.out())
	}
}

// The program sees the pod's client as the peer of a stolen connection, not
// the plugin's loopback address.
func TestIncomingProgramSeesTheRealClient(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	toolbox, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), "toolbox", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	defer s.stop(t)
	out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/who")
	var reply struct {
		Local  bool   `json:"local"`
		Remote string `json:"remote"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &reply); err != nil || !reply.Local {
		t.Fatalf("not stolen: %q %v", out, err)
	}
	if host, _, _ := strings.Cut(reply.Remote, ":"); host != toolbox.Status.PodIP {
		t.Fatalf("the program saw %s as the client, want the toolbox pod %s", reply.Remote, toolbox.Status.PodIP)
	}
}

// Under a filter, what is not taken reaches the pod's app byte-exact: a
// protocol where the server speaks first, bytes that are not HTTP, and
// requests that do not match (here by method).
func TestFilteredStealPassesTheRestByteExact(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--http-filter", "method:^POST$",
		"--port-map", "9100:9000", "--port-map", "8080:8080", "--", "sh", "-c",
		testProgs.httpserve+" 8080 & "+testProgs.httpserve+" 9100 & wait").serving()
	defer s.stop(t)
	testenv.Eventually(t, 30*time.Second, func() bool { return strings.Count(s.err(), "the pod's port") == 2 }, s.err)
	// The TCP echo greets first, then echoes: the filter waits, then passes it whole.
	raw := fromToolbox(t, "(sleep 2; echo ping-raw-bytes; sleep 1) | timeout 10 nc "+target.ip+" 9000; true")
	if !strings.Contains(raw, "ping-raw-bytes") || strings.Contains(raw, `"local":true`) {
		t.Fatalf("the TCP echo through a filtered port: %q", raw)
	}
	// Not HTTP on the HTTP port: the app's own answer (its 400), not a cut.
	junk := fromToolbox(t, "printf 'NOT-HTTP\\r\\n\\r\\n' | timeout 5 nc "+target.ip+" 8080; true")
	if !strings.Contains(junk, "400 Bad Request") {
		t.Fatalf("non-HTTP bytes did not reach the app: %q", junk)
	}
	if get := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/get"); !strings.Contains(get, `"pod":"`+target.name+`"`) {
		t.Fatalf("a GET (not matching) did not reach the app: %s", get)
	}
	if post := fromToolbox(t, "timeout 5 wget -qO- --post-data=x http://"+target.ip+":8080/post"); !strings.Contains(post, `"local":true`) {
		t.Fatalf("a POST (matching) did not reach the program: %s", post)
	}
}

// A second session stealing a port another session holds is refused with
// one line naming the holder, whether it is the same user's (one agent) or
// another user's (another agent); the holder keeps its traffic.
func TestConflictingStealIsRefusedNamingTheHolder(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	a := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	defer a.stop(t)
	for name, env := range map[string][]string{
		"same user":    nil,
		"another user": {"XDG_CONFIG_HOME=" + t.TempDir()}, // another key, so another agent
	} {
		// Its program listens on 8081 (8080 is the first one's, on this machine) for the pod's 8080.
		b := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--port-map", "8081:8080", "--", testProgs.httpserve, "8081").env(env...).start()
		testenv.Eventually(t, 90*time.Second, func() bool { return strings.Contains(b.err(), "incoming traffic for port 8081") },
			func() string { return name + ":\n" + b.err() })
		if !strings.Contains(b.err(), "stolen by kubectl mirror of ") || !strings.Contains(b.err(), "stop that session") {
			t.Errorf("%s: the refusal does not name the holder:\n%s", name, b.err())
		}
		b.stop(t)
		if out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/still-a"); !strings.Contains(out, `"local":true`) {
			t.Fatalf("%s: the first session lost its steal: %s\nfirst:\n%s\nsecond:\n%s", name, out, a.err(), b.err())
		}
	}
	if got := strings.Count(a.out(), "got GET /still-a"); got != 2 {
		t.Fatalf("the first session got %d of the 2 requests", got)
	}
}

// kill -9 of a stealing plugin and an immediate second run: the new session
// gets the port (the old holder is gone by the time it asks again), not a
// refusal naming a dead session.
func TestStealAgainRightAfterKillNine(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	a := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	_ = a.cmd.Wait()
	b := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	defer b.stop(t)
	if out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/second"); !strings.Contains(out, `"local":true`) || !strings.Contains(b.out(), "got GET /second") {
		t.Fatalf("the second run did not get the port: %s\n%s", out, b.err())
	}
}

// A client sends a GET every 100 ms while the program closes its listener
// and lives on: no request fails; those after the close are the pod's app's.
func TestNoRequestLostWhenTheProgramLetsGoOfItsPort(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", netprobe, "relisten", "8080").serving()
	defer s.stop(t)
	loop := "for i in $(seq 1 50); do if out=$(timeout 5 wget -qO- http://" + target.ip + ":8080/tick-$i 2>&1); then " +
		`case "$out" in *'"local":true'*) echo local;; *) echo app;; esac; else echo FAIL $i; fi; sleep 0.1; done`
	done := make(chan string, 1)
	go func() { done <- fromToolbox(t, loop) }()
	testenv.Eventually(t, 60*time.Second, func() bool { return strings.Count(s.out(), "served /tick-") >= 5 },
		func() string { return "the client's requests did not reach the program:\n" + s.out() + s.err() })
	fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/close >/dev/null 2>&1; true")
	out := <-done
	fails, local, app := strings.Count(out, "FAIL"), strings.Count(out, "local"), strings.Count(out, "app")
	t.Logf("50 requests: %d to the program, %d to the pod's app after the close, %d failed", local, app, fails)
	if fails != 0 || app == 0 || local == 0 {
		t.Fatalf("want every request answered, the program's before the close and the app's after:\n%s\n%s", out, s.err())
	}
}
