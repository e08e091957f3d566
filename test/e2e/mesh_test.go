//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// The meshed workloads of the test cluster (test/cluster/manifests/meshed.yaml):
// Istio's rules written by its own istio-iptables (iptables and native nftables), and
// Linkerd's proxy-init rules, each with a transparent proxy as its sidecar.
var meshes = []struct{ deploy, sidecar string }{
	{"meshed", "istio-proxy"},
	{"meshed-nft", "istio-proxy"},
	{"meshed-linkerd", "linkerd-proxy"},
}

// In a meshed pod every capability works as in a plain one: a header-filtered
// steal through the Service on every replica, an unfiltered steal, mirror, and
// the program's outgoing request (which leaves through the mesh's sidecar, as the
// pod's own would); the pods stay Ready, the app's own traffic through the
// sidecar keeps working during and after, and the mesh's rules are exactly as
// they were when the session ends.
func TestMeshedPods(t *testing.T) {
	netprobe, _, _ := programs(t)
	for _, m := range meshes {
		t.Run(m.deploy, func(t *testing.T) {
			pods := readyPodsOf(t, m.deploy)
			before := map[string]string{}
			for _, p := range pods {
				before[p.Name] = podRules(t, p.Name)
				if !strings.Contains(before[p.Name], "15006") && !strings.Contains(before[p.Name], "4143") {
					t.Fatalf("pod %s has no mesh rules; the harness did not mesh it:\n%s", p.Name, before[p.Name])
				}
			}
			filter := "header:X-User: ^me$"
			s := plugin(t, "run", "deploy/"+m.deploy, "--incoming", "steal", "--http-filter", filter, "--", testProgs.httpserve, "8080").serving()
			if n := len(pods); !strings.Contains(s.err(), fmt.Sprintf("on %d of %d pods", n, n)) && n > 1 {
				t.Fatalf("progress does not say every pod serves:\n%s", s.err())
			}
			if local, fromPods := serviceHits(t, m.deploy, "f", 20, "X-User: me"); local != 20 || fromPods != 0 {
				t.Fatalf("filtered steal, with the header: %d reached the program, %d a pod (want 20, 0)", local, fromPods)
			}
			if local, fromPods := serviceHits(t, m.deploy, "n", 20, ""); local != 0 || fromPods != 20 {
				t.Fatalf("filtered steal, without the header: %d reached the program, %d a pod (want 0, 20)", local, fromPods)
			}
			for _, p := range pods {
				out := fromToolbox(t, "timeout 5 wget -qO- --header 'X-User: me' http://"+p.Status.PodIP+":8080/each")
				if !strings.Contains(out, `"local":true`) {
					t.Fatalf("pod %s does not give matching requests to the program: %s", p.Name, out)
				}
			}
			appTrafficThroughSidecar(t, pods[0].Name, m.sidecar, "during")
			s.stop(t)

			s = plugin(t, "run", "deploy/"+m.deploy, "--incoming", "steal", "--", testProgs.httpserve, "8080").serving()
			if local, fromPods := serviceHits(t, m.deploy, "u", 20, ""); local != 20 || fromPods != 0 {
				t.Fatalf("unfiltered steal: %d reached the program, %d a pod (want 20, 0)", local, fromPods)
			}
			s.stop(t)

			s = plugin(t, "run", "deploy/"+m.deploy, "--", testProgs.httpserve, "8080").serving()
			if local, fromPods := serviceHits(t, m.deploy, "m", 20, ""); local != 0 || fromPods != 20 {
				t.Fatalf("mirror: %d answered by the program, %d by a pod (want 0, 20)", local, fromPods)
			}
			testenv.Eventually(t, 15*time.Second, func() bool { return strings.Count(s.out(), "got GET /m/") == 20 },
				func() string { return "mirror copies expected for 20 requests, the program printed:\n" + s.out() })
			s.stop(t)

			echoIP := serviceIP(t, "echo")
			out, errOut, code := plugin(t, "run", "pod/"+pods[0].Name, "--", netprobe, "http", "http://echo/from-the-mesh", "1").
				timeout(90 * time.Second).run()
			if code != 0 || !strings.Contains(out, `"path":"/from-the-mesh"`) {
				t.Fatalf("outgoing request from the meshed pod's network: exit %d\n%s%s", code, out, errOut)
			}
			if logs := kubectl(t, "logs", pods[0].Name, "-c", m.sidecar); !strings.Contains(logs, "outbound "+echoIP+":80 ") {
				t.Fatalf("the program's request did not leave through the mesh's sidecar (as the pod's own would):\n%s", logs)
			}

			appTrafficThroughSidecar(t, pods[0].Name, m.sidecar, "after")
			for _, p := range pods {
				testenv.Eventually(t, 30*time.Second, func() bool { return podRules(t, p.Name) == before[p.Name] },
					func() string {
						return fmt.Sprintf("pod %s's rules differ after the session:\nbefore:\n%s\nafter:\n%s", p.Name, before[p.Name], podRules(t, p.Name))
					})
			}
			stayedReady(t, pods)
		})
	}
}

// readyPodsOf waits for every replica of the deployment to be Ready.
func readyPodsOf(t *testing.T, deploy string) []corev1.Pod {
	t.Helper()
	kubectl(t, "rollout", "status", "deploy/"+deploy, "--timeout=120s")
	pods, err := clientset(t).CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + deploy})
	if err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	for i := range pods.Items {
		if podReady(&pods.Items[i]) && pods.Items[i].DeletionTimestamp == nil {
			ready = append(ready, pods.Items[i])
		}
	}
	if len(ready) == 0 {
		t.Fatalf("no Ready pod of deploy/%s", deploy)
	}
	return ready
}

// serviceHits sends n GETs to the Service from the toolbox, with the header or
// without, and counts the replies of the local program and of the Service's pods.
func serviceHits(t *testing.T, service, prefix string, n int, header string) (local, pods int) {
	t.Helper()
	h := ""
	if header != "" {
		h = "--header '" + header + "' "
	}
	out := fromToolbox(t, fmt.Sprintf(`for i in $(seq 1 %d); do timeout 5 wget -qO- %shttp://%s/%s/$i; echo; done`, n, h, service, prefix))
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, `"local":true`):
			local++
		case strings.Contains(line, `"pod":"`+service+`-`):
			pods++
		}
	}
	return local, pods
}

// appTrafficThroughSidecar has the app container make its own request to the echo
// Service, which the mesh's rules send through the sidecar, and checks both ends.
func appTrafficThroughSidecar(t *testing.T, pod, sidecar, when string) {
	t.Helper()
	path := "/app-" + when + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	out, err := run(t, 30*time.Second, filepath.Join(repoRoot(t), "test", "cluster", "kubectl"), "exec", pod, "-c", "echo", "--", "/echo", "get", "http://echo"+path)
	if err != nil || !strings.Contains(out, `"path":"`+path+`"`) {
		t.Fatalf("%s the session, the app's own request failed: %v\n%s", when, err, out)
	}
	if logs := kubectl(t, "logs", pod, "-c", sidecar); !strings.Contains(logs, "outbound "+serviceIP(t, "echo")+":80 ") {
		t.Fatalf("%s the session, the app's request did not cross the sidecar:\n%s", when, logs)
	}
}

func serviceIP(t *testing.T, name string) string {
	t.Helper()
	svc, err := clientset(t).CoreV1().Services("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc.Spec.ClusterIP
}

// counters and generated-on comments change with traffic and time, not with rules.
var volatileRule = regexp.MustCompile(`(?m)^#.*$|\[\d+:\d+\]|counter packets \d+ bytes \d+|expires \S+`)

// podRules is the pod network namespace's whole rule set: iptables (nft and legacy
// backends) and nftables, read from this machine through one of the pod's processes.
func podRules(t *testing.T, pod string) string {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range processesIn(string(p.UID)) {
		var all strings.Builder
		ok := true
		for _, argv := range [][]string{{"iptables-nft-save"}, {"iptables-legacy-save"}, {"ip6tables-nft-save"}, {"nft", "list", "ruleset"}} {
			out, err := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-n"}, argv...)...).CombinedOutput()
			if err != nil && argv[0] == "nft" {
				ok = false
				break
			}
			fmt.Fprintf(&all, "== %s\n%s\n", argv[0], out)
		}
		if ok {
			return volatileRule.ReplaceAllString(all.String(), "")
		}
	}
	t.Fatalf("no process of pod %s found on this machine", pod)
	return ""
}

// stayedReady: no pod restarted a container or left Ready since before the test.
func stayedReady(t *testing.T, before []corev1.Pod) {
	t.Helper()
	for _, b := range before {
		now, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), b.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("pod %s: %v", b.Name, err)
		}
		if readySince(now) != readySince(&b) || restarts(now) != restarts(&b) {
			t.Fatalf("pod %s did not stay Ready: Ready since %v (was %v), %d restarts (were %d)",
				b.Name, readySince(now), readySince(&b), restarts(now), restarts(&b))
		}
	}
}

func readySince(p *corev1.Pod) metav1.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime
		}
	}
	return metav1.Time{}
}

func restarts(p *corev1.Pod) (n int32) {
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}
