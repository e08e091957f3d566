package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDlvVersionRunsDelveWithNoSession: `dlv version` starts no program,
// so the plugin becomes Delve at once, with no cluster at all (here echo,
// named dlv, stands in for Delve); without "--" it says where dlv's
// arguments go.
func TestDlvVersionRunsDelveWithNoSession(t *testing.T) {
	bin := t.TempDir()
	echo, err := exec.LookPath("echo")
	if err != nil {
		t.Skip("no echo program:", err)
	}
	b, err := os.ReadFile(echo)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "dlv"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	plugin := pluginBinary(t)
	cmd := exec.Command(plugin, "dlv", "--kubeconfig", filepath.Join(t.TempDir(), "none"), "--", "version")
	cmd.Env = append(os.Environ(), "PATH="+bin)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "version\n" {
		t.Fatalf("dlv -- version: %v: %q", err, out)
	}
	_, errOut, code := runPlugin(t, "dlv", "version")
	if code != 1 || !strings.Contains(errOut, "put dlv's arguments after --") {
		t.Fatalf("dlv version (no --): exit %d, %q", code, errOut)
	}
}
