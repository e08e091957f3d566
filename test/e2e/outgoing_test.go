//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

var testProgs struct {
	once                          sync.Once
	netprobe, cMusl, c, incluster string
	httpserve                     string
	err                           error
}

// programs builds the test programs once (internal/testbin): static Go,
// glibc and musl C, the local HTTP server, the in-cluster client.
func programs(t *testing.T) (netprobe, cGlibc, cMusl string) {
	t.Helper()
	testProgs.once.Do(func() {
		for _, p := range []struct {
			dst  *string
			name string
		}{{&testProgs.netprobe, "netprobe"}, {&testProgs.c, "cprobe"}, {&testProgs.cMusl, "cprobe-musl"},
			{&testProgs.incluster, "incluster"}, {&testProgs.httpserve, "httpserve"}} {
			if *p.dst, testProgs.err = testbin.Path(p.name); testProgs.err != nil {
				return
			}
		}
	})
	if testProgs.err != nil {
		t.Fatal(testProgs.err)
	}
	return testProgs.netprobe, testProgs.c, testProgs.cMusl
}

// echoPods returns the two echo pods: the target of the runs, and the other
// one, whose answers name the target as the caller without hairpin NAT.
// Both must be Ready: a test that stole or broke the port (the agent-crash
// test does, for up to 10 s) can leave a pod briefly unready behind it.
func echoPods(t *testing.T) (target, other struct{ name, ip string }) {
	t.Helper()
	var pods *corev1.PodList
	testenv.Eventually(t, 90*time.Second, func() bool {
		var err error
		pods, err = clientset(t).CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=echo"})
		if err != nil || len(pods.Items) != 2 {
			return false
		}
		for i := range pods.Items {
			if !podReady(&pods.Items[i]) {
				return false
			}
		}
		return true
	}, func() string { return "the two echo pods did not become Ready" })
	target.name, target.ip = pods.Items[0].Name, pods.Items[0].Status.PodIP
	other.name, other.ip = pods.Items[1].Name, pods.Items[1].Status.PodIP
	return target, other
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil
		}
	}
	return false
}

// checkCaller asserts an echo reply came from the target pod: the caller is
// the target's IP, or, when the Service sent the request back to the target
// itself, the node's hairpin address on the pod bridge.
func checkCaller(t *testing.T, body, targetName, targetIP string) {
	t.Helper()
	var r echoReply
	if err := json.Unmarshal([]byte(strings.TrimSpace(body)), &r); err != nil {
		t.Fatalf("echo reply %q: %v", body, err)
	}
	host := r.Remote[:strings.LastIndex(r.Remote, ":")]
	if host != targetIP && !(r.Pod == targetName && host == "10.244.0.1") {
		t.Fatalf("echo %s saw the caller %s, want the target pod %s (%s)", r.Pod, r.Remote, targetName, targetIP)
	}
}

func svcIP(t *testing.T) string {
	return strings.TrimSpace(kubectl(t, "get", "svc", "echo", "-o", "jsonpath={.spec.clusterIP}"))
}

func TestOutgoingHTTPLeavesFromThePod(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, other := echoPods(t)
	urls := []string{
		"http://echo.default.svc.cluster.local/full",
		"http://echo/short",
		"http://echo.default/namespaced",
		"http://" + svcIP(t) + "/service-ip",
		"http://" + other.ip + ":8080/pod-ip",
	}
	for _, u := range urls {
		out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "http", u, "2").run()
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", u, code, errOut)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: want 2 replies, got %q", u, out)
		}
		for _, l := range lines {
			checkCaller(t, l, target.name, target.ip)
		}
		if !connectionsThroughThePod.MatchString(errOut) {
			t.Fatalf("%s: no summary on stderr:\n%s", u, errOut)
		}
	}
	// Straight to the other pod: no Service, no hairpin, the caller is exactly the target.
	out, _, _ := plugin(t, "run", "pod/"+target.name, "--", netprobe, "http", "http://"+other.ip+":8080/exact", "1").run()
	var r echoReply
	_ = json.Unmarshal([]byte(out), &r)
	if !strings.HasPrefix(r.Remote, target.ip+":") {
		t.Fatalf("direct pod call: caller %q, want %s", r.Remote, target.ip)
	}
}

func TestOutgoingFromEveryKindOfProgram(t *testing.T) {
	netprobe, cGlibc, cMusl := programs(t)
	target, _ := echoPods(t)
	echoClient := filepath.Join(repoRoot(t), ".cluster", "image-build", "echo")
	cases := []struct {
		name string
		argv []string
	}{
		{"go run .", []string{"sh", "-c", `cd "$0" && go run . http://echo/go-run`, filepath.Join(repoRoot(t), "test", "programs", "gohttp")}},
		{"curl", []string{"curl", "-sS", "--max-time", "10", "http://echo.default.svc.cluster.local/curl"}},
		{"python3 urllib", []string{"python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://echo/python', timeout=10).read().decode())"}},
		{"glibc getaddrinfo", []string{cGlibc, "gai", "echo", "9000"}},
		{"musl static getaddrinfo", []string{cMusl, "gai", "echo.default.svc.cluster.local", "9000"}},
		{"static Go connected UDP", []string{echoClient, "udp", "echo:9001", "go-udp"}},
		{"static Go unconnected UDP", []string{netprobe, "udp", "echo.default:9001", "go-unconnected"}},
		{"musl unconnected UDP", []string{cMusl, "udp", svcIP(t), "9001", "musl-udp"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := plugin(t, append([]string{"run", "pod/" + target.name, "--"}, tc.argv...)...).run()
			if code != 0 {
				t.Fatalf("exit %d\nstdout %q\n%s", code, out, errOut)
			}
			if strings.HasPrefix(strings.TrimSpace(out), "{") {
				checkCaller(t, out, target.name, target.ip)
				return
			}
			// TCP and UDP echo answers: "remote=ADDR pod=NAME" names the
			// caller and the pod that answered; the node's hairpin address
			// is the caller only when the Service sent the call back to the
			// target itself.
			i := strings.Index(out, "remote=")
			if i < 0 {
				t.Fatalf("no caller in %q", out)
			}
			fields := strings.Fields(out[i+len("remote="):])
			caller, pod := fields[0], strings.TrimPrefix(fields[1], "pod=")
			host := caller[:strings.LastIndex(caller, ":")]
			if host != target.ip && !(pod == target.name && host == "10.244.0.1") {
				t.Fatalf("caller %s of pod %s, want the target pod %s (%s)", caller, pod, target.name, target.ip)
			}
			if payload := tc.argv[len(tc.argv)-1]; strings.Contains(tc.name, "UDP") && !strings.HasSuffix(strings.TrimSpace(out), payload) {
				t.Fatalf("payload %q not echoed: %q", payload, out)
			}
		})
	}
}

func TestOutgoingFidelity(t *testing.T) {
	netprobe, cGlibc, _ := programs(t)
	target, other := echoPods(t)
	// A closed port of a pod: refused, as in the pod.
	_, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "tcp", other.ip+":9999").run()
	if code != 1 || !strings.Contains(errOut, "connection refused") {
		t.Fatalf("static Go to a closed port: exit %d\n%s", code, errOut)
	}
	_, errOut, code = plugin(t, "run", "pod/"+target.name, "--", cGlibc, "tcp", other.ip, "9999").run()
	if code != 1 || !strings.Contains(errOut, "connect: Connection refused") {
		t.Fatalf("glibc to a closed port: exit %d\n%s", code, errOut)
	}
	// An address on the pod network where nobody lives: the pod cannot reach it,
	// and neither can the program, within --dial-timeout.
	start := time.Now()
	_, errOut, code = plugin(t, "run", "pod/"+target.name, "--dial-timeout=3s", "--", netprobe, "tcp", "10.244.0.250:80").run()
	if code != 1 || !(strings.Contains(errOut, "no route to host") || strings.Contains(errOut, "timed out")) || time.Since(start) > 30*time.Second {
		t.Fatalf("unreachable address: exit %d after %s\n%s", code, time.Since(start), errOut)
	}
	// getpeername names the destination, not a local proxy.
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "tcp", other.ip+":9000").run()
	if code != 0 || !strings.HasPrefix(out, "peer "+other.ip+":9000\nread remote="+target.ip+":") {
		t.Fatalf("getpeername: exit %d, stdout %q\n%s", code, out, errOut)
	}
	// getsockname names the pod-side end: the address the server saw calling.
	out, errOut, code = plugin(t, "run", "pod/"+target.name, "--", netprobe, "sockname", other.ip+":9000").run()
	if code != 0 || !strings.HasPrefix(out, "read remote="+target.ip+":") {
		t.Fatalf("sockname: exit %d, stdout %q\n%s", code, out, errOut)
	}
	seen := strings.Fields(strings.TrimPrefix(out, "read remote="))[0]
	if !strings.Contains(out, "\nlocal "+seen+"\n") {
		t.Fatalf("getsockname: want the pod-side address %s the server saw, got %q", seen, out)
	}
	out, _, code = plugin(t, "run", "pod/"+target.name, "--", cGlibc, "tcp", other.ip, "9000").run()
	if code != 0 || !strings.HasPrefix(out, "peer "+other.ip+":9000\n") {
		t.Fatalf("glibc getpeername: %q", out)
	}
}

func TestOutgoingBulkConcurrentHalfClose(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, other := echoPods(t)
	start := time.Now()
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "bulk", other.ip+":9000", "200", "1048576").run()
	if code != 0 || out != "bulk ok 200 x 1048576 bytes\n" {
		t.Fatalf("exit %d, stdout %q\n%s", code, out, errOut)
	}
	t.Logf("200 x 1 MiB echoed and checksummed in %s", time.Since(start).Round(time.Millisecond))
}

func TestLoopbackAndLocalRulesStayLocal(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, other := echoPods(t)
	// A server on the laptop's own loopback: the program reaches it directly.
	server := exec.Command(laptopScript(t), "exec",
		"socat", "TCP-LISTEN:18555,bind=127.0.0.1,reuseaddr,fork", "SYSTEM:echo local-server")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })
	listening := func() string { out, _ := inLaptop(t, 10*time.Second, "ss", "-Htln"); return out }
	testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(listening(), "127.0.0.1:18555") },
		func() string { return "the laptop's server does not listen on 127.0.0.1:18555:\n" + listening() })
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "tcp", "127.0.0.1:18555").run()
	if out != "peer 127.0.0.1:18555\nread local-server\n" || connectionsThroughThePod.MatchString(errOut) {
		t.Fatalf("loopback: exit %d, stdout %q\n%s", code, out, errOut)
	}
	// --local keeps the pod's address local: from the laptop there is no route to it.
	_, errOut, code = plugin(t, "run", "pod/"+target.name, "--local", "10.244.0.0/16", "--", netprobe, "tcp", other.ip+":9000").run()
	if code != 1 || !strings.Contains(errOut, "network is unreachable") || connectionsThroughThePod.MatchString(errOut) {
		t.Fatalf("--local: exit %d\n%s", code, errOut)
	}
	// --remote with a host name (resolved in the pod) and a port: only that goes through.
	out, errOut, code = plugin(t, "run", "pod/"+target.name, "--remote", "echo:9000", "--", "sh", "-c",
		netprobe+" tcp "+svcIP(t)+":9000 && "+netprobe+" tcp "+svcIP(t)+":80").run()
	if code != 1 || !strings.Contains(out, "read remote=") || !strings.Contains(errOut, "network is unreachable") {
		t.Fatalf("--remote echo:9000: exit %d, stdout %q\n%s", code, out, errOut)
	}
}

// A program's own connect timeout wins over --dial-timeout: towards a port
// of the echo pod that never answers a connect (the pod's dial would take
// the whole 60 s), Go's DialTimeout, Python's create_connection and curl
// --connect-timeout report their own timeout; the summary counts them failed.
func TestProgramsOwnConnectTimeoutWins(t *testing.T) {
	programs(t)
	target, other := echoPods(t)
	silent := other.ip
	for name, cmd := range map[string][]string{
		"go":     {testProgs.netprobe, "dialtimeout", silent + ":9003", "1000"},
		"python": {"python3", "-c", "import socket\ntry:\n socket.create_connection(('" + silent + "', 9003), timeout=1)\nexcept OSError as e:\n print('python:', e.errno, e)"},
		"curl":   {"curl", "-sS", "--connect-timeout", "1", "http://" + silent + ":9003/"},
	} {
		out, errOut, _ := plugin(t, append([]string{"run", "pod/" + target.name, "--dial-timeout", "60s", "--"}, cmd...)...).run()
		all := out + errOut
		// Each program's own timeout, not the kernel's ETIMEDOUT from a connect held to the end.
		want := map[string]string{"go": "i/o timeout", "python": "python: None timed out", "curl": "Timeout was reached"}[name]
		if !strings.Contains(all, want) {
			t.Errorf("%s: want its own timeout (%q), got:\n%s", name, want, all)
		}
		if !strings.Contains(errOut, "1 connection through the pod failed") {
			t.Errorf("%s: the summary does not count the connect that timed out:\n%s", name, errOut)
		}
	}
}
