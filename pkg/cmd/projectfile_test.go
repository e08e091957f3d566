package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// TestFlagsWinOverTheProjectFile: keys fill the flags the command line did
// not give; a flag given wins, and lists from the file are not added to it.
func TestFlagsWinOverTheProjectFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), projectfile.Name)
	text := "target: deploy/api\nnamespace: shop\nenv:\n  set: {X: from-file, Y: y}\n  exclude: ['AWS_*']\nincoming:\n  mode: steal\n  portMap: {3000: 8080}\nprocesses:\n  skipBuildTools: false\n  skip: [air]\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := projectfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	kube := genericclioptions.NewConfigFlags(true)
	o := NewRunOptions(genericiooptions.NewTestIOStreamsDiscard(), kube, nil)
	c := &cobra.Command{}
	kube.AddFlags(c.Flags())
	o.AddFlags(c.Flags())
	if err := c.ParseFlags([]string{"--incoming", "mirror", "--env-exclude", "SECRET_*"}); err != nil {
		t.Fatal(err)
	}
	target, err := applyProjectFile(c, l, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := o.cfg
	switch {
	case strings.Join(target, " ") != "deploy/api":
		t.Errorf("target %v", target)
	case *kube.Namespace != "shop":
		t.Errorf("namespace %q", *kube.Namespace)
	case cfg.Incoming != protocol.ModeMirror:
		t.Errorf("incoming %q: the flag must win", cfg.Incoming)
	case strings.Join(cfg.Env.Exclude, ",") != "SECRET_*":
		t.Errorf("env exclude %v: the flag's list, not the file's added to it", cfg.Env.Exclude)
	case cfg.Env.Overrides["X"] != "from-file" || cfg.Env.Overrides["Y"] != "y":
		t.Errorf("env set %v", cfg.Env.Overrides)
	case cfg.PortMap[3000] != 8080:
		t.Errorf("port map %v", cfg.PortMap)
	case o.processes.buildTools || strings.Join(o.processes.extra, ",") != "air":
		t.Errorf("processes %+v", o.processes)
	}
}

// TestConfigValidateFromASubdirectory: the plugin finds the project file of
// the repository from a subdirectory, and a bad value is one line with its
// file and line.
func TestConfigValidateFromASubdirectory(t *testing.T) {
	repo := testenv.WriteFiles(t, map[string]string{
		".git/HEAD":       "ref: refs/heads/main\n",
		projectfile.Name:  "target: deploy/api\nfiles:\n  mode: everything\n",
		"cmd/api/main.go": "package main\n",
	})
	sub := filepath.Join(repo, "cmd", "api")
	cmd := exec.Command(pluginBinary(t), "config", "validate")
	cmd.Dir = sub
	out, err := cmd.CombinedOutput()
	want := "error: " + filepath.Join(repo, projectfile.Name) + `:3: files.mode: "everything": use remote, local, all` + "\n"
	if err == nil || string(out) != want {
		t.Fatalf("got %q (%v), want %q", out, err, want)
	}
}

// TestTraceReportsByTheProjectFilesRules: trace takes the file's rules (here
// a program to skip) and passes over keys only run has (target).
func TestTraceReportsByTheProjectFilesRules(t *testing.T) {
	dir := testenv.WriteFiles(t, map[string]string{
		".git/HEAD":      "ref: refs/heads/main\n",
		projectfile.Name: "target: deploy/api\nprocesses:\n  skip: [cat]\n",
	})
	cmd := exec.Command(pluginBinary(t), "trace", "--", "sh", "-c", "cat /etc/hostname >/dev/null")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rules from "+filepath.Join(dir, projectfile.Name)) || !strings.Contains(string(out), "cat: native") {
		t.Fatalf("%v:\n%s", err, out)
	}
}

// TestProjectFilePathsAreTheFilesOwn: local paths in the file are relative
// to its directory, and the file the plugin writes may not leave it.
func TestProjectFilePathsAreTheFilesOwn(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "templates"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(text string) *projectfile.Loaded {
		path := filepath.Join(dir, projectfile.Name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := projectfile.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	apply := func(l *projectfile.Loaded) (*RunOptions, error) {
		kube := genericclioptions.NewConfigFlags(true)
		o := NewRunOptions(genericiooptions.NewTestIOStreamsDiscard(), kube, nil)
		c := &cobra.Command{}
		kube.AddFlags(c.Flags())
		o.AddFlags(c.Flags())
		if err := c.ParseFlags(nil); err != nil {
			t.Fatal(err)
		}
		_, err := applyProjectFile(c, l, false)
		return o, err
	}
	o, err := apply(write("env:\n  file: .env.pod\nfiles:\n  map: {/app/templates: ./templates}\n"))
	if err != nil || o.cfg.EnvFile != filepath.Join(dir, ".env.pod") || o.cfg.FSMap["/app/templates"].Local != filepath.Join(dir, "templates") {
		t.Fatalf("env file %q, map %v, %v: want both under %s", o.cfg.EnvFile, o.cfg.FSMap, err, dir)
	}
	for _, bad := range []string{"/home/someone/.bashrc", "../outside.env", "sub/../../outside.env"} {
		if _, err := apply(write("env:\n  file: " + bad + "\n")); err == nil || !strings.Contains(err.Error(), ":2: env.file:") {
			t.Errorf("env.file %s: %v; want refused with its line", bad, err)
		}
	}
}
