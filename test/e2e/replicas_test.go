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
	h := ""
	if header != "" {
		h = "--header '" + header + "' "
	}
	out := fromToolbox(t, fmt.Sprintf(`for i in $(seq 1 %d); do timeout 5 wget -qO- %shttp://multi/r$i; echo; done`, n, h))
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, `"local":true`):
			local++
		case strings.Contains(line, `"pod":"multi-`):
			pods++
		}
	}
	return local, pods
}

// A filtered steal of a 2-replica workload takes the matching requests
// whichever pod the Service picks, leaves the rest to the pods, and takes
// in a third replica that appears during the session.
func TestFilteredStealCoversEveryReplica(t *testing.T) {
	programs(t)
	multiDeployment(t, 2)
	s := startSession(t, "deploy/multi", "--incoming", "steal", "--http-filter", "header:X-User: ^me$", "--", testProgs.httpserve, "8080")
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
	waitFor(t, 60*time.Second, func() bool { return strings.Contains(s.err(), "(3 pods)") },
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
