package cmd

import (
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/doctor"
)

// A failed check shows its mark, name, detail and fix on one line; a warning
// does not make the report fail, a failure does.
func TestDoctorLines(t *testing.T) {
	fail := doctor.Check{Name: "RBAC", State: doctor.Fail, Detail: "you may not patch pods/ephemeralcontainers in namespace default", Fix: "ask for an RBAC rule"}
	if got, want := line(fail), "✗ RBAC         you may not patch pods/ephemeralcontainers in namespace default; fix: ask for an RBAC rule"; got != want {
		t.Errorf("line:\n got %q\nwant %q", got, want)
	}
	warn := doctor.Check{Name: "Pod Security", State: doctor.Warn, Detail: "baseline"}
	if doctor.Failed([]doctor.Check{warn}) || !doctor.Failed([]doctor.Check{warn, fail}) {
		t.Error("a warning must not fail the report, a failure must")
	}
}
