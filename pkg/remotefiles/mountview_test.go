package remotefiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// A pod path under a symlinked directory of this machine is made in the
// link's real directory; a link that leads nowhere is refused.
func TestDeepestExistingFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	got, rel, err := deepestExisting(filepath.Join(dir, "link", "secrets", "kubernetes.io"))
	if err != nil || got != real || rel != "secrets/kubernetes.io" {
		t.Fatalf("got %q %q %v, want %q secrets/kubernetes.io", got, rel, err, real)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := deepestExisting(filepath.Join(dir, "dangling", "x")); err == nil || !strings.Contains(err.Error(), "link to nothing") {
		t.Fatalf("through a dangling link: %v", err)
	}
}

// Grafts: one per directory, the shallowest first and "/" last; a missing
// file is made as a file, a missing directory as a directory; a place this
// machine has of the other kind is refused.
func TestViewGraftsOrderAndKinds(t *testing.T) {
	dir := t.TempDir()
	src := t.TempDir()
	file := filepath.Join(src, "hostname")
	if err := os.WriteFile(file, []byte("pod\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	top := "/kubectl-mirror-graft-test-" + filepath.Base(dir)
	binds := []tracer.Bind{
		{Src: src, Dst: top + "/config"},
		{Src: src, Dst: filepath.Join(deep, "x")},
		{Src: file, Dst: filepath.Join(dir, "hostname")},
		{Src: src, Dst: filepath.Join(dir, "a", "y", "z")},
	}
	grafts, err := viewGrafts(binds)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range grafts {
		got = append(got, g.Dir+" dirs="+strings.Join(g.Make, ",")+" files="+strings.Join(g.Files, ","))
	}
	want := []string{
		dir + " dirs= files=hostname",
		filepath.Join(dir, "a") + " dirs=y/z files=",
		deep + " dirs=x files=",
		"/ dirs=" + strings.TrimPrefix(top, "/") + "/config files=",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("grafts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := viewGrafts([]tracer.Bind{{Src: src, Dst: file}}); err == nil || !strings.Contains(err.Error(), "is a file here and "+src+" is a directory") {
		t.Fatalf("a directory over a file: %v", err)
	}
}

// What only the stop path can serve is refused with the reason.
func TestMountViewRefusals(t *testing.T) {
	here := t.TempDir()
	for _, tc := range []struct {
		name string
		make func(c *Cache)
		want string
	}{
		{"write mode", func(c *Cache) { c.write = &writeback{} }, "--fs-write"},
		{"a local path inside a pod path", func(c *Cache) {
			c.roots["/etc/echo"] = true
			c.local = append(c.local, "/etc/echo/config/local.conf")
		}, "the local path /etc/echo/config/local.conf lies in the pod's /etc/echo"},
		{"a path only this machine has", func(c *Cache) { c.roots[here] = false }, "the pod has no " + here + ", which this machine has"},
		{"a pod path in /tmp, which would take new files no more", func(c *Cache) {
			p := "/tmp/kubectl-mirror-absent-" + filepath.Base(here)
			c.roots[p] = true
			if err := os.MkdirAll(filepath.Join(c.dir, p), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "a pod path in /tmp would leave /tmp no room for new files"},
	} {
		c, err := NewCache(filepath.Join(t.TempDir(), "base"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(c.dir, "etc", "echo"), 0o700); err != nil {
			t.Fatal(err)
		}
		tc.make(c)
		if _, err := c.MountView("pod", ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		c.write = nil
		c.Close()
	}
}

// --fs-local holding a pod path keeps it local: no mount for it.
func TestMountViewLeavesLocalPathsOut(t *testing.T) {
	c, err := NewCache(filepath.Join(t.TempDir(), "base"), []string{"/etc"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, root := range []string{"/etc/hosts", "/var/run/secrets/kubernetes.io"} {
		c.roots[root] = true
		if err := os.MkdirAll(filepath.Join(c.dir, root), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	binds, err := c.viewBinds()
	if err != nil {
		t.Fatal(err)
	}
	if len(binds) != 1 || binds[0].Dst != "/var/run/secrets/kubernetes.io" {
		t.Fatalf("binds %+v, want the service account's alone", binds)
	}
}
