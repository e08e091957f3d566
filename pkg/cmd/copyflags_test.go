package cmd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/run"
)

func TestSplitCommand(t *testing.T) {
	for in, want := range map[string][]string{
		"sleep 1d":                {"sleep", "1d"},
		`["sh","-c","sleep 1d"]`:  {"sh", "-c", "sleep 1d"},
		"  /app/server  --idle  ": {"/app/server", "--idle"},
		`[ "/bin/true" ]`:         {"/bin/true"},
	} {
		got, err := splitCommand(in)
		if err != nil || !cmp.Equal(got, want) {
			t.Errorf("splitCommand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := splitCommand(`["sh", 1]`); err == nil || !strings.Contains(err.Error(), "JSON array of strings") {
		t.Errorf("a bad array: %v", err)
	}
}

func TestCopyFlagsNeedCopyTarget(t *testing.T) {
	for _, c := range []run.CopyConfig{{ScaleDown: true, Labels: true}, {Command: []string{"sleep"}, Labels: true}, {Labels: false}} {
		if err := validateCopy(&run.Config{Copy: c}); err == nil || !strings.Contains(err.Error(), "needs --copy-target") {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if err := validateCopy(&run.Config{Copy: run.CopyConfig{Enabled: true, ScaleDown: true}}); err != nil {
		t.Error(err)
	}
}
