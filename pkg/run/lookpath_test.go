package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// TestProgramIsFoundOnThisMachinesPath: with the pod's PATH in the merged
// environment (--env-include PATH), the program is still looked up on this
// machine's PATH, where it lives, and sees the pod's PATH once it runs.
func TestProgramIsFoundOnThisMachinesPath(t *testing.T) {
	testenv.NeedRoot(t)
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "print-path"), []byte("#!/bin/sh\necho \"$PATH\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	cfg := Config{Command: []string{"print-path"}, Stdin: devNull, Stdout: out, Stderr: os.Stderr}
	env := []string{"PATH=/pod/only/bin:/app/bin"} // has neither print-path nor a shell
	status, err := runProgram(context.Background(), cfg, env, "", "", nil, nil)
	if err != nil || status.ExitCode() != 0 {
		t.Fatalf("run: %v, %s", err, status)
	}
	got, err := os.ReadFile(out.Name())
	if err != nil || string(got) != "/pod/only/bin:/app/bin\n" {
		t.Fatalf("program saw PATH %q (%v), want the pod's", got, err)
	}
}
