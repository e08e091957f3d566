package tracer

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Each feature a container profile or an old kernel may refuse is told in
// one line naming it, the kernel needed, this kernel and the runtime flags.
func TestMissingFeatureIsToldWithTheFix(t *testing.T) {
	for _, f := range features(true) {
		fs := features(true)
		for i := range fs {
			if fs[i].what == f.what {
				fs[i].try = func() error { return unix.EPERM }
			} else {
				fs[i].try = func() error { return nil }
			}
		}
		err := checkFeatures(fs, func() (int, int) { return 4, 19 })
		if !errors.Is(err, ErrMissingFeature) {
			t.Fatalf("%s refused: %v", f.what, err)
		}
		msg := err.Error()
		for _, want := range []string{f.what, "EPERM", "Linux " + f.minLinux, "this kernel is 4.19", "--security-opt seccomp=unconfined"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q lacks %q", f.what, msg, want)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Errorf("more than one line: %q", msg)
		}
	}
}

// On this machine (root, no container profile) everything is there; the
// ptrace engine's features alone are asked for without a debugger.
func TestFeaturesOfThisMachine(t *testing.T) {
	if err := CheckFeatures(true); err != nil {
		t.Fatalf("this machine: %v", err)
	}
	if n := len(features(false)); n != 3 {
		t.Fatalf("without a debugger %d features are checked, want the ptrace engine's 3", n)
	}
}
