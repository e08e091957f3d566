//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// echoReply is the JSON the echo workload answers HTTP requests with.
type echoReply struct {
	Pod    string `json:"pod"`
	PodIP  string `json:"podIP"`
	Remote string `json:"remote"`
	Path   string `json:"path"`
}

func parseEcho(t *testing.T, out string) echoReply {
	t.Helper()
	var r echoReply
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("echo reply %q: %v", out, err)
	}
	return r
}

func TestEchoDeploymentReady(t *testing.T) {
	cs := clientset(t)
	d, err := cs.AppsV1().Deployments("default").Get(context.Background(), "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.ReadyReplicas != 2 {
		t.Fatalf("deploy/echo has %d ready replicas, want 2", d.Status.ReadyReplicas)
	}
}

func TestServiceReachableFromPod(t *testing.T) {
	cs := clientset(t)
	svc, err := cs.CoreV1().Services("default").Get(context.Background(), "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	toolbox, err := cs.CoreV1().Pods("default").Get(context.Background(), "toolbox", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := kubectl(t, "exec", "toolbox", "--", "timeout", "10", "wget", "-qO-", "http://"+svc.Spec.ClusterIP+"/svc")
	r := parseEcho(t, out)
	if !strings.HasPrefix(r.Remote, toolbox.Status.PodIP+":") {
		t.Fatalf("echo saw caller %s, want the toolbox pod %s", r.Remote, toolbox.Status.PodIP)
	}
	if !strings.HasPrefix(r.Pod, "echo-") || r.Path != "/svc" {
		t.Fatalf("unexpected echo reply %+v", r)
	}
}

func TestClusterDNSResolvesService(t *testing.T) {
	for _, name := range []string{"echo", "echo.default", "echo.default.svc.cluster.local"} {
		t.Run(name, func(t *testing.T) {
			out := kubectl(t, "exec", "toolbox", "--", "timeout", "10", "wget", "-qO-", "http://"+name+"/dns")
			if r := parseEcho(t, out); r.Path != "/dns" {
				t.Fatalf("unexpected echo reply %+v", r)
			}
		})
	}
	out := kubectl(t, "exec", "toolbox", "--", "nslookup", "echo.default.svc.cluster.local")
	svcIP := strings.TrimSpace(kubectl(t, "get", "svc", "echo", "-o", "jsonpath={.spec.clusterIP}"))
	if !strings.Contains(out, svcIP) {
		t.Fatalf("nslookup did not return the Service IP %s:\n%s", svcIP, out)
	}
}

func TestEphemeralContainerSeesTargetEnviron(t *testing.T) {
	pod := firstEchoPod(t)
	name := fmt.Sprintf("smoke%d", time.Now().UnixNano()%1_000_000)
	kubectl(t, "debug", pod, "--image=mirror.test/busybox:v1", "--image-pull-policy=IfNotPresent",
		"--target=echo", "-c", name, "--profile=general", "--", "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ")
	kubectl(t, "wait", "pod/"+pod, "--timeout=60s",
		fmt.Sprintf("--for=jsonpath={.status.ephemeralContainerStatuses[?(@.name==%q)].state.terminated.reason}=Completed", name))
	logs := kubectl(t, "logs", pod, "-c", name)
	for _, want := range []string{"LITERAL=literal-value", "FROM_CONFIGMAP=configmap-value", "POD_NAME=" + pod} {
		if !strings.Contains(logs, want) {
			t.Errorf("ephemeral container's view of /proc/1/environ lacks %q:\n%s", want, logs)
		}
	}
}

func TestPortForwardFromLaptopReachesPod(t *testing.T) {
	pod := firstEchoPod(t)
	// The port-forward and its client both live in the laptop namespace.
	script := fmt.Sprintf(`kubectl port-forward pod/%s 18080:8080 >/dev/null 2>&1 & pf=$!
trap 'kill $pf 2>/dev/null; wait $pf 2>/dev/null' EXIT
for i in $(seq 1 50); do curl -sf http://127.0.0.1:18080/pf && exit 0; sleep 0.2; done
exit 1`, pod)
	out, err := inLaptop(t, time.Minute, "sh", "-c", script)
	if err != nil {
		t.Fatalf("port-forward from the laptop failed: %v\n%s", err, out)
	}
	if r := parseEcho(t, out); r.Pod != pod || r.Path != "/pf" {
		t.Fatalf("port-forward reached %+v, want pod %s", r, pod)
	}
}

func TestLaptopReachesAPIServerOnly(t *testing.T) {
	if out, err := inLaptop(t, time.Minute, "kubectl", "get", "--raw", "/readyz"); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("API server not reachable from the laptop: %v\n%s", err, out)
	}
	cs := clientset(t)
	pods, err := cs.CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=echo"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("list echo pods: %v", err)
	}
	svcIP := strings.TrimSpace(kubectl(t, "get", "svc", "echo", "-o", "jsonpath={.spec.clusterIP}"))
	for _, addr := range []string{pods.Items[0].Status.PodIP + ":8080", svcIP + ":80"} {
		out, err := inLaptop(t, time.Minute, "curl", "-s", "--max-time", "3", "http://"+addr+"/")
		if err == nil {
			t.Errorf("%s is reachable from the laptop namespace, want unreachable:\n%s", addr, out)
		}
	}
	// The same addresses answer from the host, so the failure above is the laptop's isolation.
	if out, err := run(t, time.Minute, "curl", "-sf", "--max-time", "5", "http://"+pods.Items[0].Status.PodIP+":8080/"); err != nil {
		t.Fatalf("pod address not reachable from the host either: %v\n%s", err, out)
	}
}

func firstEchoPod(t *testing.T) string {
	t.Helper()
	out := kubectl(t, "get", "pods", "-l", "app=echo", "--field-selector=status.phase=Running", "-o", "jsonpath={.items[0].metadata.name}")
	if out == "" {
		t.Fatal("no running echo pod")
	}
	return strings.TrimSpace(out)
}

func TestEchoTCPAndUDPNameTheCaller(t *testing.T) {
	cs := clientset(t)
	toolbox, err := cs.CoreV1().Pods("default").Get(context.Background(), "toolbox", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, script string }{
		{"tcp", "echo ping-tcp | timeout 10 nc -w 2 echo 9000"},
		{"udp", "timeout 10 mirror-echo udp echo:9001 ping-udp"},
	} {
		out := kubectl(t, "exec", "toolbox", "--", "sh", "-c", tc.script)
		want := "remote=" + toolbox.Status.PodIP + ":"
		if !strings.HasPrefix(out, want) || !strings.Contains(out, "ping-"+tc.name) {
			t.Errorf("%s echo answered %q, want %q... and the payload back", tc.name, out, want)
		}
	}
}
