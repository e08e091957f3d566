package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
)

func runCommand() (*RunOptions, *cobra.Command) {
	kube := genericclioptions.NewConfigFlags(true)
	o := NewRunOptions(genericiooptions.NewTestIOStreamsDiscard(), kube, nil)
	c := &cobra.Command{}
	kube.AddFlags(c.Flags())
	o.AddFlags(c.Flags())
	return o, c
}

// TestEnvFlagsLandInTheConfig: --env-unset globs, --env-load files (read,
// in order) and --env-include PATH reach the run's env rules.
func TestEnvFlagsLandInTheConfig(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.env"), filepath.Join(dir, "b.env")
	if err := os.WriteFile(a, []byte("# first\nexport DB_URL=\"postgres://a\"\nSHARED='from a'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("SHARED=from b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o, c := runCommand()
	if err := c.ParseFlags([]string{"--env-unset", "AWS_*", "--env-unset", "KUBECONFIG", "--env-load", a, "--env-load", b, "--env-include", "PATH", "--env", "X=1"}); err != nil {
		t.Fatal(err)
	}
	env := o.cfg.Env
	if diff := cmp.Diff([]string{"AWS_*", "KUBECONFIG"}, env.Unset); diff != "" {
		t.Errorf("unset (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"DB_URL=postgres://a", "SHARED=from a", "SHARED=from b"}, env.Load); diff != "" {
		t.Errorf("load (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"PATH"}, env.Include); diff != "" || env.Overrides["X"] != "1" {
		t.Errorf("include %v, overrides %v", env.Include, env.Overrides)
	}
}

// TestEnvLoadRefusesABadFileAtOnce: a malformed or missing file is one
// line naming the flag, the file and the line, when the flags are parsed.
func TestEnvLoadRefusesABadFileAtOnce(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.env")
	if err := os.WriteFile(bad, []byte("A=1\nB=\"open\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{bad, bad + ":2: B: no closing double quote"},
		{bad + ".missing", bad + ".missing"},
	} {
		_, c := runCommand()
		err := c.ParseFlags([]string{"--env-load", tc.file})
		if err == nil || !strings.Contains(err.Error(), "--env-load") || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming --env-load and %q", tc.file, err, tc.want)
		}
	}
}

// TestEnvKeysOfTheProjectFile: env.unset and env.load (relative to the
// file's directory) stand for the flags, and a flag given wins.
func TestEnvKeysOfTheProjectFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dev.env"), []byte("DEBUG=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, projectfile.Name)
	if err := os.WriteFile(path, []byte("env:\n  include: [PATH]\n  unset: ['AWS_*']\n  load: [dev.env]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := projectfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	o, c := runCommand()
	if err := c.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := applyProjectFile(c, l, false); err != nil {
		t.Fatal(err)
	}
	env := o.cfg.Env
	if strings.Join(env.Unset, ",") != "AWS_*" || strings.Join(env.Load, ",") != "DEBUG=1" || strings.Join(env.Include, ",") != "PATH" {
		t.Errorf("from the file: unset %v, load %v, include %v", env.Unset, env.Load, env.Include)
	}
	o, c = runCommand()
	if err := c.ParseFlags([]string{"--env-unset", "SECRET_*"}); err != nil {
		t.Fatal(err)
	}
	if _, err := applyProjectFile(c, l, false); err != nil {
		t.Fatal(err)
	}
	if strings.Join(o.cfg.Env.Unset, ",") != "SECRET_*" {
		t.Errorf("unset %v: the flag's list, not the file's added to it", o.cfg.Env.Unset)
	}
	if err := os.WriteFile(path, []byte("env:\n  load: [missing.env]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err = projectfile.Load(path); err != nil {
		t.Fatal(err)
	}
	_, c = runCommand()
	if err := c.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := applyProjectFile(c, l, false); err == nil || !strings.HasPrefix(err.Error(), path+":2: env.load: ") || !strings.Contains(err.Error(), filepath.Join(dir, "missing.env")) {
		t.Errorf("missing env.load file: %v, want the file's line and the path resolved in its directory", err)
	}
}
