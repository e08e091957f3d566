//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// agentPodsIn lists the targetless agent pods in a namespace.
func agentPodsIn(t *testing.T, ns string) []string {
	t.Helper()
	pods, err := clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/managed-by=kubectl-mirror,app.kubernetes.io/name=kubectl-mirror-agent"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	return names
}

// TestTargetlessRunUsesAnAgentPod: with no target, the program reaches a
// Service by its cluster name from the laptop through an agent pod, with
// the local environment; the agent pod goes at its idle timeout; a
// namespace enforcing Pod Security "restricted" admits it; incoming traffic
// is refused with one line.
func TestTargetlessRunUsesAnAgentPod(t *testing.T) {
	// An agent pod an earlier run left would be reused with its own idle timeout.
	kubectl(t, "delete", "jobs", "-l", "app.kubernetes.io/managed-by=kubectl-mirror", "--wait=true")
	script := `curl -sS --max-time 10 http://echo/targetless | head -c 9; echo; echo "LITERAL=$LITERAL"`
	out, errOut, code := plugin(t, "run", "--agent-idle-timeout", "3s", "--", "sh", "-c", script).run()
	if code != 0 || out != "{\"pod\":\"e\nLITERAL=\n" || !strings.Contains(errOut, "no target") {
		t.Fatalf("exit %d, stdout %q\nstderr: %s", code, out, errOut)
	}
	testenv.Eventually(t, 45*time.Second, func() bool { return len(agentPodsIn(t, "default")) == 0 },
		func() string {
			return fmt.Sprintf("agent pods %v still there 45 s after a 3 s idle timeout", agentPodsIn(t, "default"))
		})

	kubectl(t, "create", "namespace", "mirror-restricted")
	t.Cleanup(func() { kubectl(t, "delete", "namespace", "mirror-restricted", "--wait=false") })
	kubectl(t, "label", "namespace", "mirror-restricted", "pod-security.kubernetes.io/enforce=restricted")
	out, errOut, code = plugin(t, "run", "-n", "mirror-restricted", "--", "sh", "-c", "curl -sS --max-time 10 http://echo.default/restricted | head -c 9").run()
	if code != 0 || out != `{"pod":"e` {
		t.Fatalf("restricted namespace: exit %d, stdout %q\nstderr: %s", code, out, errOut)
	}

	_, errOut, code = plugin(t, "run", "--incoming", "steal", "--", "true").run()
	if code != 1 || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "--incoming needs a target") {
		t.Fatalf("incoming without a target: exit %d, stderr %q", code, errOut)
	}
}
