// Package testenv is for tests that need something of the machine (root for
// ptrace, IPv6 loopback, a tool): elsewhere they skip, in CI they fail, so a
// CI run can never pass with a part untested. Tests also wait here
// (Eventually) for what they need, rather than sleeping.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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

// maxPoll is the longest pause between two checks of an Eventually
// condition: a slow condition (an API call, a process started) is checked
// about ten times a second, a quick one much sooner.
const maxPoll = 100 * time.Millisecond

// Eventually waits until cond holds, checking it at once and then after
// pauses growing from 1 ms to maxPoll, and fails the test with what() (what
// is wrong, the output that tells why) if it still does not after timeout.
// A test waits for what it needs this way, never for a time that usually
// suffices. Call it from the test's goroutine, as t.Fatal.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, maxPoll) {
		if time.Now().After(deadline) {
			msg := "the condition never held"
			if what != nil {
				msg = what()
			}
			t.Fatalf("timed out after %s:\n%s", timeout, msg)
			return // a t whose Fatalf returns (a test of this helper)
		}
		time.Sleep(pause)
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
