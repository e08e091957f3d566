//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// doctor on the test cluster passes every check, agent and round trip included;
// for an identity lacking pods/ephemeralcontainers it fails, naming the verb and
// the fix, and skips the agent rather than trying it.
func TestDoctorChecksWhatARunNeeds(t *testing.T) {
	target, _ := echoPods(t)
	out, errOut, code := plugin(t, "doctor", "pod/"+target.name).run()
	if code != 0 {
		t.Fatalf("doctor failed on the test cluster: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"✓ API server", "Kubernetes v1.", "✓ RBAC         you may patch pods/ephemeralcontainers",
		"✓ agent", "pod/" + target.name, "✓ round trip   median", "✓ kernel       ptrace", "✓ RBAC         you may use --copy-target"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor's report lacks %q:\n%s", want, out)
		}
	}

	read := "- apiGroups: [\"\"]\n  resources: [pods, services]\n  verbs: [get, list, watch]\n"
	pf := "- apiGroups: [\"\"]\n  resources: [pods/portforward]\n  verbs: [create]\n"
	kc := identityKubeconfig(t, "mirror-doctor-no-patch", read+pf)
	out, errOut, code = plugin(t, "doctor", "pod/"+target.name, "-o", "json").kubeconfig(kc).run()
	if code == 0 {
		t.Fatalf("doctor passed for an identity that may not add the agent:\n%s", out)
	}
	var checks []struct{ Name, State, Detail, Fix string }
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("-o json: %v\n%s%s", err, out, errOut)
	}
	failed := map[string]string{}
	copyWarned := false
	for _, c := range checks {
		// --copy-target's extra verbs, missing too, warn without failing.
		if c.State == "warn" && strings.Contains(c.Detail, "--copy-target") && strings.Contains(c.Detail, "create jobs.batch") {
			copyWarned = true
		}
		if c.State == "fail" {
			failed[c.Name] = c.Detail + " / " + c.Fix
		}
		if c.Name == "agent" && c.State != "skipped" {
			t.Errorf("the agent was %s for an identity that failed RBAC: %s", c.State, c.Detail)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed["RBAC"], "you may not patch pods/ephemeralcontainers") || !strings.Contains(failed["RBAC"], "RBAC rule") {
		t.Fatalf("want exactly the RBAC check failed, naming patch pods/ephemeralcontainers and the fix; failed: %v", failed)
	}
	if !copyWarned {
		t.Errorf("no warning that --copy-target would be refused (create jobs.batch) for an identity without it:\n%s", out)
	}
}
