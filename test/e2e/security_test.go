//go:build e2e

package e2e

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xtaci/smux"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// A process of another local user connects to every port the plugin listens
// on while the program makes 20 requests: it gets nothing from the pod, and
// every request of the program succeeds. The program first makes a blocking
// connect (glibc), whose loopback proxy then listens for the whole session;
// Go's non-blocking connects are parked (a listener whose queue is full,
// for the dial's time) and joined from the park's port.
func TestAnotherLocalUserGetsNothingFromThePod(t *testing.T) {
	netprobe, cGlibc, _ := programs(t)
	target, other := echoPods(t)
	s := plugin(t, "run", "-v", "2", "pod/"+target.name, "--", "sh", "-c",
		cGlibc+" tcp "+other.ip+" 9000 >/dev/null && exec "+netprobe+" conns http://echo/conns 20").start()
	stranger, err := inLaptop(t, time.Minute, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", netprobe, "stranger", "8")
	if err != nil {
		t.Fatalf("stranger: %v\n%s", err, stranger)
	}
	testenv.Eventually(t, 90*time.Second, func() bool { return s.cmd.ProcessState != nil || strings.Contains(s.out(), "requests succeeded") },
		func() string { return s.out() + s.err() })
	_ = s.cmd.Wait()
	t.Logf("program: %s; %s", strings.TrimSpace(s.out()), strings.TrimSpace(stranger))
	if !strings.Contains(s.out(), "20 of 20 requests succeeded") {
		t.Fatalf("the program's requests failed:\n%s\n%s", s.out(), s.err())
	}
	var conns, answers, bytes int
	if _, err := fmt.Sscanf(strings.TrimSpace(stranger), "stranger: %d connections, %d datagram answers, %d bytes received", &conns, &answers, &bytes); err != nil {
		t.Fatalf("stranger said %q", stranger)
	}
	if conns == 0 {
		t.Fatal("the stranger found no port of the plugin to try: the test proves nothing")
	}
	if bytes != 0 || answers != 0 {
		t.Fatalf("another user got %d bytes and %d datagram answers from the pod", bytes, answers)
	}
	if !strings.Contains(s.err(), "refused a local connection that is not the program's") {
		t.Fatalf("-v 2 does not show the refused connections:\n%s", s.err())
	}
}

// With the user's agents running in a pod (outgoing tier and NET_ADMIN
// tier), a second identity that can read the pod spec and port-forward gets
// neither env, files, a dial nor a steal out of them.
func TestSecondIdentityCannotUseTheAgents(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	defer s.stop(t)

	cfg, cs := clientFor(t, limitedKubeconfig(t))
	pod, err := cs.CoreV1().Pods("default").Get(context.Background(), target.name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the second identity may read pods: %v", err)
	}
	running := map[string]bool{}
	for _, st := range pod.Status.EphemeralContainerStatuses {
		running[st.Name] = st.State.Running != nil
	}
	_, stranger, _ := ed25519.GenerateKey(nil)
	tried := 0
	for _, ec := range pod.Spec.EphemeralContainers {
		port := 0
		for _, a := range ec.Args {
			if v, ok := strings.CutPrefix(a, "--listen=127.0.0.1:"); ok {
				port, _ = strconv.Atoi(v)
			}
		}
		if !running[ec.Name] || port == 0 {
			continue
		}
		for _, e := range ec.Env {
			if strings.Contains(strings.ToUpper(e.Name), "SECRET") {
				t.Errorf("agent %s carries %s in its spec", ec.Name, e.Name)
			}
		}
		tried++
		// Its own key: refused before any smux session exists.
		conn, err := kube.DialPod(cfg, cs, "default", target.name, port)
		if err != nil {
			t.Fatalf("port-forward as the second identity: %v", err)
		}
		if err := protocol.ClientAuth(conn, stranger, protocol.AgentIdentity(string(pod.UID), ec.Name)); !errors.Is(err, protocol.ErrNotAuthorized) {
			t.Errorf("agent %s: a stranger's key got %v, want ErrNotAuthorized", ec.Name, err)
		}
		conn.Close()
		// No authentication at all, straight to smux and an env request.
		conn, err = kube.DialPod(cfg, cs, "default", target.name, port)
		if err != nil {
			t.Fatal(err)
		}
		if env, err := unauthenticatedEnv(conn); err == nil {
			t.Errorf("agent %s served %d variables without authentication", ec.Name, len(env))
		}
		conn.Close()
	}
	if tried < 2 {
		t.Fatalf("found %d running agents in pod %s, want the outgoing and the NET_ADMIN one", tried, target.name)
	}
	// The user's own session still works: the pod's port is still stolen.
	direct := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/still-mine")
	if !strings.Contains(direct, `"local":true`) {
		t.Fatalf("the user's steal stopped working: %s", direct)
	}
}

// unauthenticatedEnv asks for the environment the way the old protocol did.
func unauthenticatedEnv(conn interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	Close() error
}) ([]string, error) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			conn.Close()
		}
	}()
	sess, err := smux.Client(rwc{conn}, protocol.SmuxConfig())
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	control, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	if _, err := protocol.ClientHandshake(control, "attacker"); err != nil {
		return nil, err
	}
	st, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	if err := protocol.Write(st, protocol.Request{Kind: protocol.KindEnv}); err != nil {
		return nil, err
	}
	var resp protocol.Response
	if err := protocol.Read(st, &resp); err != nil {
		return nil, err
	}
	return resp.Env, nil
}

type rwc struct {
	c interface {
		Read([]byte) (int, error)
		Write([]byte) (int, error)
		Close() error
	}
}

func (r rwc) Read(b []byte) (int, error)  { return r.c.Read(b) }
func (r rwc) Write(b []byte) (int, error) { return r.c.Write(b) }
func (r rwc) Close() error                { return r.c.Close() }

// scratchPod makes a pod of its own for a test (an agent's idle timeout, the
// number of agents it holds), deleted at the end.
func scratchPod(t *testing.T, name string) {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s, labels: {app: scratch}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: sh
    image: mirror.test/busybox:v1
    imagePullPolicy: Never
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`, name)
	path := filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "delete", "pod", name, "--ignore-not-found", "--wait=true")
	kubectl(t, "apply", "-f", path)
	t.Cleanup(func() { kubectl(t, "delete", "pod", name, "--wait=false") })
	kubectl(t, "wait", "--for=condition=Ready", "pod/"+name, "--timeout=90s")
}

// 20 first runs at once against a pod with no agent: all succeed, and the pod
// gains one agent, not twenty (ephemeral containers can never be removed).
func TestConcurrentFirstRunsAddOneAgent(t *testing.T) {
	scratchPod(t, "race")
	type result struct {
		code   int
		stderr string
	}
	results := make(chan result, 20)
	for i := 0; i < 20; i++ {
		go func() {
			_, errOut, code := plugin(t, "run", "pod/race", "--agent-idle-timeout=30s", "--", "true").run()
			results <- result{code, errOut}
		}()
	}
	for i := 0; i < 20; i++ {
		if r := <-results; r.code != 0 {
			t.Errorf("a concurrent first run failed (exit %d):\n%s", r.code, r.stderr)
		}
	}
	if names := ephemeralNames(t, "race"); len(names) != 1 {
		t.Fatalf("20 concurrent first runs added %d agents: %v", len(names), names)
	}
}

// A flood of connections that never authenticate: the agent's memory stays
// bounded, every connection is closed at the deadline, and once the flood
// is over the agent still exits on its idle timeout.
func TestPreAuthFloodIsBounded(t *testing.T) {
	netprobe, _, _ := programs(t)
	scratchPod(t, "flood")
	_, errOut, code := plugin(t, "run", "pod/flood", "--agent-idle-timeout=8s", "--", "true").run()
	if code != 0 {
		t.Fatalf("first run: %s", errOut)
	}
	names := ephemeralNames(t, "flood")
	agent := names[len(names)-1]
	pid := agentPID(t, "flood", false)
	port := agentListenPort(t, "flood", agent)
	before := rssKiB(pid)
	flood := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", netprobe, "flood", "127.0.0.1:"+strconv.Itoa(port), "300", "20")
	var out strings.Builder
	flood.Stdout, flood.Stderr = &out, &out
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	peak := before
	ended := waitChan(flood)
	for done := false; !done; {
		select {
		case <-ended:
			done = true
		case <-time.After(100 * time.Millisecond):
			peak = max(peak, rssKiB(pid))
		}
	}
	t.Logf("agent RSS %d KiB before, peak %d KiB under a flood of 300 unauthenticated connections; %s", before, peak, strings.TrimSpace(out.String()))
	if !strings.Contains(out.String(), "flood: 300 of 300 closed by the agent") {
		t.Fatalf("flood: %s", out.String())
	}
	if peak-before > 16<<10 {
		t.Fatalf("agent grew by %d KiB under the flood", peak-before)
	}
	// The flood is over: the 8 s idle timeout runs out and the agent exits.
	testenv.Eventually(t, 60*time.Second, func() bool { return agentState(t, "flood", agent).Terminated != nil },
		func() string {
			return fmt.Sprintf("agent %s still %+v after the flood", agent, agentState(t, "flood", agent))
		})
	if st := agentState(t, "flood", agent).Terminated; st.ExitCode != 0 {
		t.Fatalf("agent exited with %d (%s)", st.ExitCode, st.Reason)
	}
}

func waitChan(c *exec.Cmd) <-chan struct{} {
	ch := make(chan struct{})
	go func() { _ = c.Wait(); close(ch) }()
	return ch
}

func agentListenPort(t *testing.T, pod, agent string) int {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ec := range p.Spec.EphemeralContainers {
		for _, a := range ec.Args {
			if v, ok := strings.CutPrefix(a, "--listen=127.0.0.1:"); ok && ec.Name == agent {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
	}
	t.Fatalf("agent %s has no --listen", agent)
	return 0
}

func rssKiB(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// kill -9 of the plugin leaves its copy of the pod's files; the next run
// removes it, and nothing of the pod stays on disk.
func TestNoPodFilesLeftAfterKillNine(t *testing.T) {
	target, _ := echoPods(t)
	runtime := t.TempDir()
	env := []string{"XDG_RUNTIME_DIR=" + runtime}
	token := func() []string {
		m, _ := filepath.Glob(filepath.Join(runtime, "kubectl-mirror", "session-*", "var", "run", "secrets", "kubernetes.io", "serviceaccount", "token"))
		return m
	}
	s := plugin(t, "run", "pod/"+target.name, "--", "sleep", "60").env(env...).start()
	testenv.Eventually(t, 90*time.Second, func() bool { return len(token()) == 1 }, func() string { return s.err() })
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	_ = s.cmd.Wait()
	if len(token()) != 1 {
		t.Fatal("the killed plugin's copy vanished by itself: the test proves nothing")
	}
	time.Sleep(3 * time.Second) // a clock that must pass: the next run spares sessions younger than 2 s (being made)
	next := plugin(t, "run", "pod/"+target.name, "--", "true").env(env...).start()
	_ = next.cmd.Wait()
	if next.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("next run: %s", next.err())
	}
	left, _ := filepath.Glob(filepath.Join(runtime, "kubectl-mirror", "*"))
	if len(left) != 0 {
		t.Fatalf("after kill -9 and one more run, still on disk: %v", left)
	}
}

// identityKubeconfig makes a ServiceAccount bound to a Role with the given
// rules and returns a kubeconfig for it.
func identityKubeconfig(t *testing.T, name, rules string) string {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: v1
kind: ServiceAccount
metadata: {name: %[1]s, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[1]s, namespace: default}
rules:
%[2]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[1]s, namespace: default}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[1]s}
subjects:
- {kind: ServiceAccount, name: %[1]s, namespace: default}
`, name, rules)
	return tokenKubeconfig(t, name, manifest)
}

// shippedRules is the rules of the i-th Role of deploy/rbac.yaml.
func shippedRules(file []byte, i int) string {
	doc := strings.Split(string(file), "\n---\n")[i]
	return strings.TrimRight(doc[strings.Index(doc, "rules:\n")+len("rules:\n"):], "\n") + "\n"
}

// The Role the README ships works; a Role missing a verb the plugin uses is
// refused at preflight with the rule to add, before anything changes.
func TestRolesAreCheckedAtPreflight(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules := shippedRules(shipped, 0)
	read := "- apiGroups: [\"\"]\n  resources: [pods, services]\n  verbs: [get, list, watch]\n"
	patch := "- apiGroups: [\"\"]\n  resources: [pods/ephemeralcontainers]\n  verbs: [patch]\n"
	update := "- apiGroups: [\"\"]\n  resources: [pods/ephemeralcontainers]\n  verbs: [update]\n"
	pf := "- apiGroups: [\"\"]\n  resources: [pods/portforward]\n  verbs: [create]\n"
	cases := []struct {
		name, rules, want string
	}{
		{"mirror-shipped-role", rules, ""},
		{"mirror-update-only", read + update + pf, `verbs: ["patch"]`},
		{"mirror-no-portforward", read + patch, `resources: ["pods/portforward"], verbs: ["create"]`},
	}
	scratchPod(t, "roles")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kc := identityKubeconfig(t, tc.name, tc.rules)
			_, errOut, code := plugin(t, "run", "pod/roles", "--agent-idle-timeout=20s", "--", "true").kubeconfig(kc).run()
			if tc.want == "" {
				if code != 0 {
					t.Fatalf("the shipped Role does not work: %s", errOut)
				}
				return
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code == 0 || len(lines) != 2 || !strings.Contains(lines[1], tc.want) {
				t.Fatalf("want the target line and one error naming %s, got exit %d:\n%s", tc.want, code, errOut)
			}
		})
	}
}

// A dead API server and one that accepts connections but never answers:
// one line naming the server and the context, a non-zero exit, no hang.
func TestDeadAndBlackholedAPIServers(t *testing.T) {
	hole := blackhole(t)
	cases := []struct {
		name, server string
		extra        []string
		want         string
	}{
		{"refused", "https://127.0.0.1:1", nil, "connection refused"},
		{"blackholed", "https://" + hole, nil, "no answer within 10s"},
		{"blackholed with --request-timeout", "https://" + hole, []string{"--request-timeout=2s"}, "no answer within 2s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kc := serverKubeconfig(t, tc.server)
			args := append([]string{"run", "--kubeconfig", kc}, tc.extra...)
			out, errOut, code := plugin(t, append(args, "deploy/echo", "--", "echo", "SHOULD-NOT-RUN")...).onHost().timeout(time.Minute).run()
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			if code == 0 || out != "" || len(lines) != 1 || !strings.Contains(lines[0], tc.want) ||
				!strings.Contains(lines[0], tc.server) || !strings.Contains(lines[0], `context "gone"`) {
				t.Fatalf("exit %d, want one line naming %s, the context and %q:\n%s", code, tc.server, tc.want, errOut)
			}
		})
	}
}

// blackhole accepts TCP connections on loopback and never says a word.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 64)
	t.Cleanup(func() {
		ln.Close()
		for len(held) > 0 {
			(<-held).Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case held <- c: // kept open, never answered
			default:
				c.Close()
			}
		}
	}()
	return ln.Addr().String()
}

func serverKubeconfig(t *testing.T, server string) string {
	t.Helper()
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster: {server: %q, insecure-skip-tls-verify: true}
  name: c
contexts:
- context: {cluster: c, user: u, namespace: default}
  name: gone
current-context: gone
users:
- name: u
  user: {token: x}
`, server)
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A finished Job can never give a Ready pod: say so at once.
func TestFinishedJobIsExplained(t *testing.T) {
	manifest := `apiVersion: batch/v1
kind: Job
metadata: {name: done}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - {name: c, image: mirror.test/busybox:v1, imagePullPolicy: Never, command: ["true"]}
`
	path := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "delete", "job", "done", "--ignore-not-found", "--wait=true")
	kubectl(t, "apply", "-f", path)
	t.Cleanup(func() { kubectl(t, "delete", "job", "done", "--wait=false") })
	kubectl(t, "wait", "--for=condition=Complete", "job/done", "--timeout=90s")
	_, errOut, code := plugin(t, "run", "job/done", "--", "true").run()
	if code == 0 || !strings.Contains(errOut, "job/done has finished (Complete)") || strings.Contains(errOut, "wait until") {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
}

// The steal listener in the pod takes only connections the redirect sent:
// another pod dialing it directly gets nothing from the program.
func TestStealListenerIsNotReachableDirectly(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
	defer s.stop(t)
	pid := agentWithNetAdmin(t, target.name)
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "ss", "-Htlnp").CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v\n%s", err, out)
	}
	var direct []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.Contains(line, "mirror-agent") || strings.HasPrefix(f[3], "127.0.0.1:") {
			continue
		}
		direct = append(direct, f[3][strings.LastIndex(f[3], ":")+1:])
	}
	if len(direct) == 0 {
		t.Fatalf("no steal listener found in the pod:\n%s", out)
	}
	for _, port := range direct {
		got := fromToolbox(t, fmt.Sprintf("timeout 5 wget -qO- http://%s:%s/sneaky 2>&1; true", target.ip, port))
		if strings.Contains(got, `"local":true`) || strings.Contains(s.out(), "/sneaky") {
			t.Fatalf("port %s of the pod reached the stolen program directly: %s", port, got)
		}
	}
	if got := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/through-redirect"); !strings.Contains(got, `"local":true`) {
		t.Fatalf("the redirect itself stopped working: %s", got)
	}
}
