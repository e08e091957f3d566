//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestCompletionListsTheClustersTargets drives cobra's __complete as the
// shell scripts do: deployments after deploy/, the target's containers for
// -c, namespaces for -n, and files once the command begins.
func TestCompletionListsTheClustersTargets(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "deploy/"}, []string{"deploy/echo"}},
		{[]string{"run", "deployment", "ec"}, []string{"echo"}},
		{[]string{"run", "deploy/echo", "-c", ""}, []string{"echo", "sidecar"}},
		{[]string{"run", "-n", ""}, []string{"default", "kube-system"}},
	} {
		out, errOut, code := plugin(t, append([]string{"__complete"}, tc.args...)...).timeout(time.Minute).run()
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, w := range tc.want {
			found := false
			for _, l := range lines {
				found = found || strings.SplitN(l, "\t", 2)[0] == w
			}
			if !found || code != 0 {
				t.Errorf("__complete %v: exit %d, no %q in:\n%s%s", tc.args, code, w, out, errOut)
			}
		}
	}
	out, _, _ := plugin(t, "__complete", "run", "deploy/echo", "--", "").timeout(time.Minute).run()
	if !strings.HasSuffix(strings.TrimSpace(out), ":0") {
		t.Errorf("after --, want the shell's file completion (:0), got %q", out)
	}
}
