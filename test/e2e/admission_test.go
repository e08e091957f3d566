//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// A ValidatingAdmissionPolicy refusing pods/ephemeralcontainers in the
// namespace: run ends within 10 s, non-zero, in one line naming the
// policy, its binding and its message, and the pod holds no agent.
func TestAdmissionPolicyRefusingTheAgentIsOneLine(t *testing.T) {
	ns := tempNamespace(t, "mirror-vap")
	pod := echoIn(t, ns)
	policy := ns + "-no-ephemeral"
	const message = "ephemeral containers are not allowed in this namespace"
	applyManifest(t, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: `+policy+`}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["UPDATE"]
      resources: ["pods/ephemeralcontainers"]
  validations:
  - expression: "false"
    message: "`+message+`"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: `+policy+`}
spec:
  policyName: `+policy+`
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels: {kubernetes.io/metadata.name: `+ns+`}
`)
	t.Cleanup(func() {
		kubectl(t, "delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy, "--ignore-not-found")
	})
	waitPolicyEnforced(t, ns, pod, policy)

	start := time.Now()
	_, errOut, code := plugin(t, "run", "-n", ns, "deploy/echo", "--", "true").run()
	took := time.Since(start)
	line := oneErrorLine(t, errOut)
	t.Logf("refused in %s: %s", took.Round(time.Millisecond), line)
	if code == 0 || took > 10*time.Second {
		t.Errorf("exit %d after %s: want non-zero within 10 s", code, took)
	}
	for _, want := range []string{"ValidatingAdmissionPolicy '" + policy + "' (binding '" + policy + "')", message, "nothing was added", "no target"} {
		if !strings.Contains(line, want) {
			t.Errorf("the line does not say %q: %s", want, line)
		}
	}
	if names := ephemeralIn(t, ns, pod); len(names) != 0 {
		t.Fatalf("the refused run left ephemeral containers %v", names)
	}
}

// waitPolicyEnforced waits until the API server enforces the policy (it
// loads policies a moment after they are made): a dry-run of adding an
// ephemeral container is refused by it.
func waitPolicyEnforced(t *testing.T, ns, pod, policy string) {
	t.Helper()
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []corev1.EphemeralContainer{{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dry-run", Image: "mirror.test/busybox:v1"}}}}})
	last := ""
	testenv.Eventually(t, 30*time.Second, func() bool {
		_, err := clientset(t).CoreV1().Pods(ns).Patch(context.Background(), pod, types.StrategicMergePatchType, patch,
			metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}}, "ephemeralcontainers")
		if err != nil {
			last = err.Error()
		}
		return err != nil && strings.Contains(err.Error(), policy)
	}, func() string { return "the policy is not enforced: " + last })
}

// A namespace enforcing Pod Security "baseline": --incoming steal is
// refused in one line naming the namespace and its level before any agent
// is added; a plain run (the pod's environment, a Service by name) works,
// its agent holding no NET_ADMIN.
func TestPodSecurityBaselineRefusesIncomingOnly(t *testing.T) {
	ns := tempNamespace(t, "mirror-baseline", "pod-security.kubernetes.io/enforce=baseline")
	pod := echoIn(t, ns)

	_, errOut, code := plugin(t, "run", "-n", ns, "deploy/echo", "--incoming", "steal", "--", "true").run()
	line := oneErrorLine(t, errOut)
	if code == 0 || !strings.Contains(line, "namespace "+ns+` enforces Pod Security "baseline:latest"`) ||
		!strings.Contains(line, "NET_ADMIN") || !strings.Contains(line, "without --incoming") {
		t.Fatalf("exit %d: %s", code, line)
	}
	if names := ephemeralIn(t, ns, pod); len(names) != 0 {
		t.Fatalf("the refused run added %v", names)
	}

	script := `echo "$POD_NAME"; curl -sS --max-time 10 http://echo.default/baseline | head -c 9`
	out, errOut, code := plugin(t, "run", "-n", ns, "deploy/echo", "--", "sh", "-c", script).run()
	if code != 0 || out != pod+"\n"+`{"pod":"e` {
		t.Fatalf("plain run: exit %d, stdout %q\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "incoming traffic, which needs NET_ADMIN, is off") {
		t.Errorf("the default mirror was not said to be off:\n%s", errOut)
	}
	p, err := clientset(t).CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.EphemeralContainers) != 1 {
		t.Fatalf("want one agent, got %d", len(p.Spec.EphemeralContainers))
	}
	if sc := p.Spec.EphemeralContainers[0].SecurityContext; sc != nil && sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
		t.Fatalf("the outgoing agent adds capabilities %v", sc.Capabilities.Add)
	}
}

// A targetless run in a namespace whose ResourceQuota its agent pod
// exceeds: one line naming the quota, and no Job left behind.
func TestTargetlessRunOverQuotaIsOneLine(t *testing.T) {
	ns := tempNamespace(t, "mirror-quota")
	applyManifest(t, `apiVersion: v1
kind: ResourceQuota
metadata: {name: tiny, namespace: `+ns+`}
spec:
  hard: {requests.cpu: 5m}
`)
	testenv.Eventually(t, 30*time.Second, func() bool {
		q, err := clientset(t).CoreV1().ResourceQuotas(ns).Get(context.Background(), "tiny", metav1.GetOptions{})
		return err == nil && len(q.Status.Hard) > 0
	}, func() string { return "the quota has no status" })
	start := time.Now()
	_, errOut, code := plugin(t, "run", "-n", ns, "--", "true").run()
	took := time.Since(start)
	var line string
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if strings.HasPrefix(l, "error: ") {
			line = l
		}
	}
	t.Logf("refused in %s: %s", took.Round(time.Millisecond), line)
	if code == 0 || !strings.Contains(line, "ResourceQuota 'tiny' of namespace "+ns+" refused the agent pod") ||
		!strings.Contains(line, "requests.cpu=5m") || strings.Count(errOut, "error: ") != 1 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		jobs, err := clientset(t).BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
		return err == nil && len(jobs.Items) == 0
	}, func() string { return "the refused agent's Job was left" })
}
