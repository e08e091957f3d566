package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
)

// TestIncomingAsked: incoming traffic counts as asked for when a flag or
// a project file key names it, so a target that cannot have it is
// refused; the default mirror alone is not, and off never is.
func TestIncomingAsked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--incoming", "mirror"}, true},
		{[]string{"--incoming", "steal"}, true},
		{[]string{"--incoming", "off"}, false},
		{[]string{"--port-map", "3000:8080"}, true},
		{[]string{"--incoming-host-network"}, true},
		{[]string{"--incoming", "off", "--incoming-host-network"}, false},
	} {
		o, c := runCommand()
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := incomingAsked(c, &o.cfg); got != tc.want {
			t.Errorf("%v: asked %v, want %v", tc.args, got, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), projectfile.Name)
	if err := os.WriteFile(path, []byte("incoming:\n  mode: steal\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := projectfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o, c := runCommand()
	if _, err := applyProjectFile(c, l, false); err != nil {
		t.Fatal(err)
	}
	if !incomingAsked(c, &o.cfg) {
		t.Error("incoming.mode in the project file: not counted as asked")
	}
}

// TestIncomingHostNetworkNeedsATarget: the flag is refused without a
// target, as the other incoming flags are.
func TestIncomingHostNetworkNeedsATarget(t *testing.T) {
	o, c := runCommand()
	if err := c.ParseFlags([]string{"--incoming-host-network"}); err != nil {
		t.Fatal(err)
	}
	if err := targetlessOnly(c, &o.cfg); err == nil || !strings.Contains(err.Error(), "--incoming-host-network needs a target") {
		t.Fatalf("got %v", err)
	}
}
