package projectfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFindStopsAtTheRepositoryRoot: the file is found from a subdirectory
// of a repository, but never above the repository's root, and outside a
// repository only in the directory itself.
func TestFindStopsAtTheRepositoryRoot(t *testing.T) {
	top := t.TempDir()
	write(t, filepath.Join(top, Name), "target: deploy/above-the-repo\n")
	repo := filepath.Join(top, "repo")
	sub := filepath.Join(repo, "cmd", "api")
	write(t, filepath.Join(repo, ".git", "HEAD"), "ref: refs/heads/main\n")
	write(t, filepath.Join(sub, "main.go"), "package main\n")
	if p, ok := Find(sub); ok {
		t.Fatalf("found %s above the repository's root", p)
	}
	write(t, filepath.Join(repo, Name), "target: deploy/api\n")
	if p, ok := Find(sub); !ok || p != filepath.Join(repo, Name) {
		t.Fatalf("Find = %q, %v; want the repository's file", p, ok)
	}
	outside := filepath.Join(t.TempDir(), "a", "b")
	write(t, filepath.Join(filepath.Dir(outside), Name), "target: deploy/x\n")
	if p, ok := Find(outside); ok {
		t.Fatalf("outside a repository, found %s in a parent", p)
	}
}

// TestLoadNamesTheLineOfABadKey: an unknown key, a value of the wrong type
// and a section that is not a mapping each name the file and the line.
func TestLoadNamesTheLineOfABadKey(t *testing.T) {
	dir := t.TempDir()
	for text, want := range map[string]string{
		"target: deploy/api\noutgoing:\n  locl: [x]\n": `:3: unknown key "outgoing.locl"; keys here: dialTimeout, local, remote`,
		"incoming:\n  ports: [abc]\n":                  ":2: cannot unmarshal",
		"env: [1]\n":                                   ":1: env must be a mapping",
		"target: [\n":                                  "did not find expected node content",
	} {
		path := filepath.Join(dir, Name)
		write(t, path, text)
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), path+want) && !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
	path := filepath.Join(dir, Name)
	write(t, path, "target: deploy/api\nincoming:\n  portMap:\n    3000: 8080\nenv:\n  import: false\n")
	l, err := Load(path)
	if err != nil || l.File.Target != "deploy/api" || l.File.Incoming.PortMap[3000] != 8080 || l.File.Env.Import == nil || *l.File.Env.Import || l.Lines["incoming.portMap"] != 3 {
		t.Fatalf("Load = %+v, %v", l, err)
	}
}

// TestCheckedInSchemaIsTheGeneratedOne: editors read schema/ from the
// repository; it must be what the code generates today.
func TestCheckedInSchemaIsTheGeneratedOne(t *testing.T) {
	want, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(testbin.Repo(), "schema", "kubectl-mirror.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("schema/kubectl-mirror.schema.json is stale: run make schema")
	}
}
