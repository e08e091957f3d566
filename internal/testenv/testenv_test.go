package testenv

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	checks := 0
	Eventually(t, 10*time.Second, func() bool { checks++; return checks == 5 }, nil)
	if checks != 5 {
		t.Fatalf("checked %d times, want 5 (until it held)", checks)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and
// returns, so a test can see how Eventually fails.
type fatalRecorder struct {
	testing.TB
	failed string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestEventuallyFailsWithWhatIsWrong(t *testing.T) {
	r := &fatalRecorder{}
	checks := 0
	Eventually(r, 20*time.Millisecond, func() bool { checks++; return false }, func() string { return "the port is still closed" })
	if r.failed != "timed out after 20ms:\nthe port is still closed" {
		t.Fatalf("failed with %q", r.failed)
	}
	if checks < 2 {
		t.Fatalf("checked %d times in 20 ms", checks)
	}
	r = &fatalRecorder{}
	Eventually(r, time.Millisecond, func() bool { return false }, nil)
	if !strings.Contains(r.failed, "the condition never held") {
		t.Fatalf("with no what: %q", r.failed)
	}
}
