//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// multiDeployment makes deploy/multi (echo pods, REPLICAS of them) behind
// Service multi, for tests that scale it; deleted at the end.
func multiDeployment(t *testing.T, replicas int) {
	t.Helper()
	manifest := fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: multi, labels: {app: multi}}
spec:
  replicas: %d
  selector:
    matchLabels: {app: multi}
  template:
    metadata:
      labels: {app: multi}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: mirror.test/echo:v1
        imagePullPolicy: Never
        args: ["serve"]
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata: {name: multi}
spec:
  selector: {app: multi}
  ports:
  - {name: http, port: 80, targetPort: 8080}
`, replicas)
	path := filepath.Join(t.TempDir(), "multi.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	t.Cleanup(func() { kubectl(t, "delete", "-f", path, "--wait=false") })
	kubectl(t, "rollout", "status", "deploy/multi", "--timeout=120s")
}

// requestsThroughService sends n GETs to Service multi from the toolbox,
// with the header or without, and returns how many the program answered.
func requestsThroughService(t *testing.T, n int, header string) (local, pods int) {
	t.Helper()
	return serviceHits(t, "multi", "r", n, header)
}

// A filtered steal of a 2-replica workload takes the matching requests
// whichever pod the Service picks, leaves the rest to the pods, and takes
// in a third replica that appears during the session.
func TestFilteredStealCoversEveryReplica(t *testing.T) {
	programs(t)
	multiDeployment(t, 2)
	s := plugin(t, "run", "deploy/multi", "--incoming", "steal", "--http-filter", "header:X-User: ^me$", "--", testProgs.httpserve, "8080").serving()
	defer s.stop(t)
	if !strings.Contains(s.err(), "on 2 of 2 pods") {
		t.Fatalf("progress does not say both pods serve:\n%s", s.err())
	}
	if local, pods := requestsThroughService(t, 50, "X-User: me"); local != 50 || pods != 0 {
		t.Fatalf("with the header: %d reached the program, %d a pod (want 50, 0)", local, pods)
	}
	if local, pods := requestsThroughService(t, 50, ""); local != 0 || pods != 50 {
		t.Fatalf("without the header: %d reached the program, %d a pod (want 0, 50)", local, pods)
	}
	kubectl(t, "scale", "deploy/multi", "--replicas=3")
	kubectl(t, "rollout", "status", "deploy/multi", "--timeout=120s")
	testenv.Eventually(t, 60*time.Second, func() bool { return strings.Contains(s.err(), "(3 pods)") },
		func() string { return "the third pod never joined:\n" + s.err() })
	pods, err := clientset(t).CoreV1().Pods("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=multi"})
	if err != nil {
		t.Fatal(err)
	}
	// Straight to each pod, the third one included.
	for _, p := range pods.Items {
		out := fromToolbox(t, "timeout 5 wget -qO- --header 'X-User: me' http://"+p.Status.PodIP+":8080/each")
		if !strings.Contains(out, `"local":true`) {
			t.Fatalf("pod %s does not give matching requests to the program: %s", p.Name, out)
		}
	}
}

// The pod carrying a workload's session is deleted (a rollout, an eviction):
// the connection in flight is reset, the session moves to another Ready pod
// of the workload, and a new request works from there.
func TestSessionFollowsTheWorkload(t *testing.T) {
	netprobe, _, _ := programs(t)
	followsTheWorkload(t, netprobe)
}

// followsTheWorkload runs command (the reconnect probe appended) against a
// deployment of two pods and deletes the session's pod under it.
func followsTheWorkload(t *testing.T, command ...string) {
	t.Helper()
	multiDeployment(t, 2)
	args := append(append([]string{"run", "deploy/multi", "--"}, command...), "reconnect", "echo:9000", "http://echo/after-delete")
	s := plugin(t, args...).start()
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Contains(s.out(), "inflight up") },
		func() string { return s.out() + s.err() })
	first := s.err()[strings.Index(s.err(), "target deployment/multi: pod/")+len("target deployment/multi: pod/"):]
	first = first[:strings.IndexAny(first, ", \n")]
	kubectl(t, "delete", "pod", first, "--wait=false")
	testenv.Eventually(t, 60*time.Second, func() bool { return strings.Contains(s.out(), "inflight ended") },
		func() string { return "the in-flight connection hung:\n" + s.out() + s.err() })
	if !strings.Contains(s.out(), "inflight ended: reset") {
		t.Errorf("in-flight connection: want a reset, got:\n%s", s.out())
	}
	testenv.Eventually(t, 120*time.Second, func() bool { return strings.Contains(s.out(), "after: ") },
		func() string { return "no request worked after the pod was deleted:\n" + s.out() + s.err() })
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("plugin: %v\n%s", err, s.err())
	}
	if !strings.Contains(s.err(), "pod/"+first+" is gone; the session moves to pod/multi-") {
		t.Fatalf("no word of the move:\n%s", s.err())
	}
	moved := s.err()[strings.Index(s.err(), "moves to pod/")+len("moves to pod/"):]
	moved = moved[:strings.IndexAny(moved, " \n")]
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), moved, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	line := s.out()[strings.Index(s.out(), "after: ")+len("after: "):]
	if !strings.Contains(strings.SplitN(line, "\n", 2)[0], `"remote":"`+p.Status.PodIP+`:`) {
		t.Fatalf("the request after the move did not leave from pod/%s (%s): %s", moved, p.Status.PodIP, line)
	}
}
