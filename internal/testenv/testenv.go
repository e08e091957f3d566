// Package testenv is for tests that need something of the machine (root for
// ptrace, IPv6 loopback, a tool): elsewhere they skip, in CI they fail, so a
// CI run can never pass with a part untested.
package testenv

import (
	"os"
	"path/filepath"
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

// WriteFiles writes each name's text into a new temporary directory, making
// the directories a name has ("services/api/main.go"), and returns it (a
// module for the go command, a repository, say).
func WriteFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
