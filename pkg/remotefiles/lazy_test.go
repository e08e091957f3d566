package remotefiles

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// dirPod is a Looker serving a directory of this machine as the pod's root,
// the way the agent answers a shallow tree.
type dirPod struct {
	root  string
	calls []string
}

func (d *dirPod) Lookup(p string, fn func(protocol.TreeEntry, io.Reader) error) error {
	d.calls = append(d.calls, p)
	full := filepath.Join(d.root, p)
	fi, err := os.Lstat(full)
	if err != nil {
		return &session.RemoteError{Errno: unix.ENOENT, Msg: err.Error()}
	}
	entry := func(name string, fi os.FileInfo, full string) protocol.TreeEntry {
		e := protocol.TreeEntry{Path: name, Mode: uint32(fi.Mode().Perm())}
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			e.Type, e.Link = protocol.TreeSymlink, must(os.Readlink(full))
		case fi.IsDir():
			e.Type = protocol.TreeDir
		default:
			e.Type, e.StubSize = protocol.TreeFile, fi.Size()
		}
		return e
	}
	if !fi.IsDir() {
		e := entry("", fi, full)
		if e.Type != protocol.TreeFile {
			return fn(e, nil)
		}
		b, _ := os.ReadFile(full)
		e.Size, e.StubSize = int64(len(b)), 0
		return fn(e, bytes.NewReader(b))
	}
	if err := fn(entry("", fi, full), nil); err != nil {
		return err
	}
	children, _ := os.ReadDir(full)
	for _, c := range children {
		ci, _ := c.Info()
		if err := fn(entry(c.Name(), ci, filepath.Join(full, c.Name())), nil); err != nil {
			return err
		}
	}
	return nil
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

func TestReadAllFetchesOnFirstUseAndKeepsThePodsRoot(t *testing.T) {
	pod := t.TempDir()
	os.MkdirAll(filepath.Join(pod, "app/releases/v3"), 0o755)
	os.WriteFile(filepath.Join(pod, "app/releases/v3/config.yaml"), []byte("port: 8080\n"), 0o640)
	os.Symlink("releases/v3", filepath.Join(pod, "app/current"))
	os.Symlink("../../../../etc/passwd", filepath.Join(pod, "app/climb"))
	os.Symlink("/etc/passwd", filepath.Join(pod, "app/abs"))
	look := &dirPod{root: pod}
	c, err := NewCache(filepath.Join(t.TempDir(), "kubectl-mirror"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.ReadAll(look, nil, nil); err != nil {
		t.Fatal(err)
	}

	// Through a symlink, as the pod resolves it; the bytes only when opened.
	if err := c.lazy.resolve(c, "/app/current/config.yaml", false); err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(c.dir, "/app/current/config.yaml")
	if fi, err := os.Stat(copyPath); err != nil || fi.Size() != 11 || fi.Mode().Perm() != 0o640 {
		t.Fatalf("stat before open: %v %v, want the pod's size and mode", fi, err)
	}
	if err := c.lazy.resolve(c, "/app/current/config.yaml", true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(copyPath); string(b) != "port: 8080\n" {
		t.Fatalf("config.yaml reads %q", b)
	}
	calls := len(look.calls)
	if err := c.lazy.resolve(c, "/app/current/config.yaml", true); err != nil || len(look.calls) != calls {
		t.Fatalf("a second use asked the pod again: %v", look.calls)
	}
	if !c.lazy.ready(c, "/app/releases/v3/config.yaml", true) {
		t.Fatal("a fetched file is not ready")
	}

	// Symlinks never lead out of the copy to this machine's files.
	for _, p := range []string{"/app/climb", "/app/abs"} {
		if err := c.lazy.resolve(c, p, true); err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadFile(filepath.Join(c.dir, p)); !os.IsNotExist(err) {
			t.Fatalf("%s reached a file outside the pod's view: %v", p, err)
		}
	}
	// Absent in the pod: absent in the copy.
	if err := c.lazy.resolve(c, "/app/missing/x", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(c.dir, "/app/missing")); !os.IsNotExist(err) {
		t.Fatal("a path the pod lacks exists in the copy")
	}
	if !c.isRemote("/app/new") || c.isRemote("/usr/lib/x") || c.isRemote("/proc/self/maps") {
		t.Fatal("the local set is not what stays local")
	}
}

func TestClimbsAboveRoot(t *testing.T) {
	for _, c := range []struct {
		dir, target string
		want        bool
	}{
		{"/data", "../etc/x", false},
		{"/data", "../../etc/x", true},
		{"/", "../x", true},
		{"/a/b", "c/../../d", false},
		{"/a/b", "c/../../../../d", true},
	} {
		if got := climbsAboveRoot(c.dir, c.target); got != c.want {
			t.Errorf("%s -> %s: %v, want %v", c.dir, c.target, got, c.want)
		}
	}
}

func TestFSMapServesAPodPathFromALocalDirectoryReadOnly(t *testing.T) {
	c, err := NewCache(filepath.Join(t.TempDir(), "kubectl-mirror"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Fetch(&fakePod{}, "/etc/app/config"); err != nil {
		t.Fatal(err)
	}
	checkout := t.TempDir()
	c.Map("/etc/app/config", Mapping{Local: checkout})
	p, errno := verdictOf(c.Path(&tracer.Call{Path: "/etc/app/config/app.conf", OpenFlag: unix.O_RDONLY}))
	if p != filepath.Join(checkout, "app.conf") || errno != 0 {
		t.Fatalf("mapped read went to %q (%v), want the checkout", p, errno)
	}
	if _, errno := verdictOf(c.Path(&tracer.Call{Path: "/etc/app/config/app.conf", OpenFlag: unix.O_WRONLY})); errno != unix.EROFS {
		t.Fatalf("a write open of a mapped path: %v, want EROFS", errno)
	}
	if p, _ := verdictOf(c.Path(&tracer.Call{Path: "/etc/app/other"})); p == filepath.Join(checkout, "other") {
		t.Fatal("a sibling of the mapped directory was mapped")
	}
}

// A merged directory (an ancestor of the working directory) lists the pod's
// entries and this machine's: a name the pod has is the pod's, one only
// this machine has stays this machine's, with what it holds.
func TestMergedDirectoryListsBothAndPrefersThePod(t *testing.T) {
	here := t.TempDir() // a directory both have
	os.MkdirAll(filepath.Join(here, "classes/app"), 0o755)
	os.WriteFile(filepath.Join(here, "classes/app/Main.class"), []byte("local"), 0o644)
	os.WriteFile(filepath.Join(here, "both.txt"), []byte("local"), 0o644)
	pod := t.TempDir()
	os.MkdirAll(filepath.Join(pod, here), 0o755)
	os.WriteFile(filepath.Join(pod, here, "both.txt"), []byte("pod"), 0o644)
	os.WriteFile(filepath.Join(pod, here, "pod-only.txt"), []byte("pod"), 0o644)
	c, err := NewCache(filepath.Join(t.TempDir(), "kubectl-mirror"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// No local set (DefaultLocal holds the temp directory): wherever the
	// test runs, only the merge decides.
	c.lazy = &lazyFS{look: &dirPod{root: pod}, listed: map[string]bool{}, stubs: map[string]bool{}, localOnly: map[string]bool{}}
	if err := c.lazy.merge(c, []string{"/", filepath.Dir(here), here}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Join(c.dir, here))
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "both.txt classes pod-only.txt" {
		t.Fatalf("the merged listing is %q", got)
	}
	for p, remote := range map[string]bool{
		filepath.Join(here, "both.txt"):               true,
		filepath.Join(here, "pod-only.txt"):           true,
		filepath.Join(here, "classes"):                false,
		filepath.Join(here, "classes/app/Main.class"): false,
	} {
		if c.isRemote(p) != remote {
			t.Errorf("%s: remote %v, want %v", p, !remote, remote)
		}
	}
}

// A writable map takes the program's changes in its local directory: a
// one-path change is made there by the program, a rename inside it here;
// a rename out of it crosses file systems; a read-only map still refuses.
func TestFSMapReadWriteTakesTheProgramsChanges(t *testing.T) {
	c, err := NewCache(filepath.Join(t.TempDir(), "kubectl-mirror"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, ro := t.TempDir(), t.TempDir()
	c.Map("/tmp/source_test", Mapping{Local: out, Write: true})
	c.Map("/etc/app", Mapping{Local: ro})
	p, errno := verdictOf(c.Path(&tracer.Call{Path: "/tmp/source_test/new.txt", OpenFlag: unix.O_WRONLY | unix.O_CREAT}))
	if p != filepath.Join(out, "new.txt") || errno != 0 {
		t.Fatalf("create under the writable map went to %q (%v), want the local directory", p, errno)
	}
	if p, errno := verdictOf(c.Path(&tracer.Call{Syscall: tracer.SysMkdir, Mutates: true, Path: "/tmp/source_test/d"})); p != filepath.Join(out, "d") || errno != 0 {
		t.Fatalf("mkdir went to %q (%v)", p, errno)
	}
	os.WriteFile(filepath.Join(out, "a"), []byte("x"), 0o644)
	v := c.Path(&tracer.Call{Syscall: tracer.SysRename, Mutates: true, Path: "/tmp/source_test/a", Path2: "/tmp/source_test/b"})
	if _, errno := verdictOf(v); errno != 0 {
		t.Fatalf("rename inside the map: %v", errno)
	}
	if _, err := os.Stat(filepath.Join(out, "b")); err != nil {
		t.Fatalf("the rename was not made in the local directory: %v", err)
	}
	if _, errno := verdictOf(c.Path(&tracer.Call{Syscall: tracer.SysRename, Mutates: true, Path: "/tmp/source_test/b", Path2: "/home/x"})); errno != unix.EXDEV {
		t.Fatalf("rename out of the map: %v, want EXDEV", errno)
	}
	if _, errno := verdictOf(c.Path(&tracer.Call{Path: "/etc/app/x", OpenFlag: unix.O_WRONLY})); errno != unix.EROFS {
		t.Fatalf("a write under the read-only map: %v, want EROFS", errno)
	}
}
