package cmd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLogDestToStdout(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"dap", "--listen=127.0.0.1:4000", "--log-dest=3"}, []string{"dap", "--listen=127.0.0.1:4000", "--log-dest=1"}},
		{[]string{"dap", "--log-dest", "7"}, []string{"dap", "--log-dest", "1"}},
		{[]string{"dap", "--log-dest=2"}, []string{"dap", "--log-dest=2"}},
		{[]string{"dap", "--log-dest=/tmp/dlv.log"}, []string{"dap", "--log-dest=/tmp/dlv.log"}},
		{[]string{"exec", "./api", "--", "--log-dest=3"}, []string{"exec", "./api", "--", "--log-dest=3"}},
	} {
		if got := logDestToStdout(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("logDestToStdout(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRunsNoProgram(t *testing.T) {
	for args, want := range map[string]bool{
		"version":                     true,
		"--help":                      true,
		"connect 127.0.0.1:2345":      true,
		"--log core ./bin ./core":     true,
		"dap --listen=127.0.0.1:2345": false,
		"debug ./cmd/api":             false,
		"--headless exec ./api":       false,
		"":                            false,
	} {
		if got := runsNoProgram(strings.Fields(args)); got != want {
			t.Errorf("runsNoProgram(%q) = %v, want %v", args, got, want)
		}
	}
}

// TestFindDlvSkipsAScriptNamedDlv: the IDE wrapper, named dlv and first on
// PATH, is passed over for the Delve program after it.
func TestFindDlvSkipsAScriptNamedDlv(t *testing.T) {
	wrapper, real := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(wrapper, "dlv"), []byte("#!/bin/sh\nexec kubectl-mirror dlv -- \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable() // any ELF program stands in for Delve
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "dlv"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", wrapper+string(filepath.ListSeparator)+real)
	t.Setenv("GOBIN", "")
	t.Setenv("GOPATH", t.TempDir())
	if got, err := findDlv(""); err != nil || got != filepath.Join(real, "dlv") {
		t.Fatalf("findDlv = %q, %v; want %s", got, err, filepath.Join(real, "dlv"))
	}
	if _, err := findDlv(filepath.Join(wrapper, "dlv")); err == nil {
		t.Fatal("--dlv naming a script was taken")
	}
	t.Setenv("PATH", wrapper)
	if _, err := findDlv(""); err == nil || !strings.Contains(err.Error(), "go install github.com/go-delve/delve/cmd/dlv") {
		t.Fatalf("no Delve: err = %v, want the install line", err)
	}
}
