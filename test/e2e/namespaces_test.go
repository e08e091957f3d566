//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// tempNamespace creates a namespace of its own for the test (a random
// suffix: one a failed run left terminating is not in the way), with
// labels, deleted when the test ends.
func tempNamespace(t *testing.T, prefix string, labels ...string) string {
	t.Helper()
	ns := prefix + "-" + strconv.FormatInt(time.Now().UnixNano()%(36*36*36*36), 36)
	kubectl(t, "create", "namespace", ns)
	t.Cleanup(func() { kubectl(t, "delete", "namespace", ns, "--wait=false") })
	if len(labels) > 0 {
		kubectl(t, append([]string{"label", "namespace", ns}, labels...)...)
	}
	return ns
}

// applyManifest applies a YAML manifest.
func applyManifest(t *testing.T, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
}

// echoIn deploys one replica of the echo workload (mirror.test/echo:v1,
// serve) as deploy/echo in ns, with POD_NAME from the downward API, and
// returns its Ready pod.
func echoIn(t *testing.T, ns string) string {
	t.Helper()
	applyManifest(t, echoDeployment(ns, "1"))
	kubectl(t, "rollout", "status", "deploy/echo", "-n", ns, "--timeout=120s")
	return readyPodIn(t, ns, "app=echo")
}

// echoDeployment is deploy/echo in ns with replicas pods (the echo
// workload, serve, POD_NAME from the downward API).
func echoDeployment(ns, replicas string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: ` + ns + `}
spec:
  replicas: ` + replicas + `
  selector:
    matchLabels: {app: echo}
  template:
    metadata:
      labels: {app: echo}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: echo
        image: mirror.test/echo:v1
        imagePullPolicy: IfNotPresent
        args: ["serve"]
        env:
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: 8080}
          periodSeconds: 2
`
}

// readyPodIn is the name of a Ready pod matching selector in ns.
func readyPodIn(t *testing.T, ns, selector string) string {
	t.Helper()
	name := ""
	testenv.Eventually(t, 90*time.Second, func() bool {
		pods, err := clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false
		}
		for i := range pods.Items {
			if podReady(&pods.Items[i]) && pods.Items[i].DeletionTimestamp == nil {
				name = pods.Items[i].Name
				return true
			}
		}
		return false
	}, func() string { return "no Ready pod " + selector + " in " + ns })
	return name
}

// ephemeralIn lists the ephemeral containers of a pod in ns.
func ephemeralIn(t *testing.T, ns, pod string) []string {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ec := range p.Spec.EphemeralContainers {
		names = append(names, ec.Name)
	}
	return names
}

// oneErrorLine checks that stderr says nothing but progress lines naming
// the target and one error line, and returns that line.
func oneErrorLine(t *testing.T, stderr string) string {
	t.Helper()
	var errs []string
	for _, l := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "error: "):
			errs = append(errs, l)
		case strings.HasPrefix(l, "kubectl mirror: target "):
		default:
			t.Errorf("unexpected line on stderr: %q", l)
		}
	}
	if len(errs) != 1 {
		t.Fatalf("want one error line, got %d:\n%s", len(errs), stderr)
	}
	return errs[0]
}
