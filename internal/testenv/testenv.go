// Package testenv is for tests that need something of the machine (root for
// ptrace, IPv6 loopback, a tool): elsewhere they skip, in CI they fail, so a
// CI run can never pass with a part untested.
package testenv

import (
	"os"
	"testing"
)

// InCI: the run is CI's (.ci/run sets CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Skip skips the test with why, or fails it in CI.
func Skip(t testing.TB, why string) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI must run this test: %s", why)
	}
	t.Skip(why)
}

// NeedRoot needs root (ptrace and seccomp filters, network namespaces).
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root (ptrace, seccomp, namespaces)")
	}
}
