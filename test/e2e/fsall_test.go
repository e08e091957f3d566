//go:build e2e

package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// --fs-mode all: python3, node and a static Go program read the pod's
// /data (not a mount, not a default root, no --fs-remote) while starting
// from this machine's interpreters and libraries; the pod's file system is
// read-only to them and its symlinks never lead to this machine's files.
func TestReadEverythingMode(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	blob, err := os.ReadFile(filepath.Join(repoRoot(t), ".cluster", "image-build", "blob"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blob)
	want := hex.EncodeToString(sum[:])
	py := `
import hashlib, os
print(",".join(sorted(os.listdir("/data"))), hashlib.sha256(open("/data/blob", "rb").read()).hexdigest())
print("shadow", os.path.exists("/data/host-shadow"), os.path.exists("/data/dotdot-shadow"))
try:
    os.mkdir("/data/new")
except OSError as e:
    print("mkdir", e.strerror)
`
	node := `const fs = require("fs"), c = require("crypto");
console.log(fs.readdirSync("/data").sort().join(","), c.createHash("sha256").update(fs.readFileSync("/data/blob")).digest("hex"));`
	for name, cmd := range map[string][]string{
		"python3":   {"python3", "-c", py},
		"node":      {"node", "-e", node},
		"static Go": {"sh", "-c", testProgs.netprobe + " cat /data/blob | sha256sum"},
	} {
		out, errOut, code := plugin(t, append([]string{"run", "pod/" + target.name, "--fs-mode", "all", "--"}, cmd...)...).run()
		wantOut := "blob,dotdot-shadow,host-shadow " + want // the listing and the bytes
		if name == "static Go" {
			wantOut = want + "  -" // the bytes
		}
		if code != 0 || !strings.Contains(out, wantOut) {
			t.Errorf("%s: exit %d, got %q, want the pod's /data listing and the blob's sha256 %s\n%s", name, code, out, want, errOut)
		}
		if name == "python3" && (!strings.Contains(out, "shadow False False") || !strings.Contains(out, "mkdir Read-only file system")) {
			t.Errorf("python3: the pod's view leaked or was writable:\n%s", out)
		}
	}
}

// statfs and fstatfs of the pod's files report the pod's file systems (the
// image's overlay, the Secret's tmpfs), as the pod's own process sees them.
func TestStatfsReportsThePodsFileSystems(t *testing.T) {
	target, _ := echoPods(t)
	root := fmt.Sprintf("/proc/%d/root", containerPID(t, target.name, "echo"))
	py := `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
buf = ctypes.create_string_buffer(256)
for p in sys.argv[1:]:
    assert libc.statfs(p.encode(), buf) == 0, os.strerror(ctypes.get_errno())
    a = int.from_bytes(buf.raw[:8], "little")
    fd = os.open(p, os.O_RDONLY)
    assert libc.fstatfs(fd, buf) == 0, os.strerror(ctypes.get_errno())
    print(p, hex(a), hex(int.from_bytes(buf.raw[:8], "little")))
`
	paths := []string{"/data/blob", "/etc/echo/secret/password"}
	// The stop path's: the mount view shows the copies' (limits.md).
	out, errOut, code := plugin(t, append([]string{"run", "pod/" + target.name, "--fs-view", "stops", "--fs-remote", "/data", "--", "python3", "-c", py}, paths...)...).run()
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, p := range paths {
		var st unix.Statfs_t
		if err := unix.Statfs(root+p, &st); err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s %#x %#x", p, st.Type, st.Type)
		if !strings.Contains(out, want) {
			t.Errorf("got %q, want %q (the pod's file system)", out, want)
		}
	}
}

// containerPID is a process of the pod's container, as this machine numbers it.
func containerPID(t *testing.T, pod, container string) int {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Status.ContainerStatuses {
		if _, id, _ := strings.Cut(st.ContainerID, "://"); st.Name == container && id != "" {
			if pids := processesIn(id); len(pids) > 0 {
				return pids[0]
			}
		}
	}
	t.Fatalf("no process of %s/%s on this machine", pod, container)
	return 0
}

// --fs-map points the pod's config mount at a local checkout: the program
// reads the checkout's file at the pod's path, and cannot write through it.
func TestFSMapServesThePodsPathFromACheckout(t *testing.T) {
	target, _ := echoPods(t)
	checkout := t.TempDir()
	if err := os.WriteFile(filepath.Join(checkout, "app.conf"), []byte("greeting = from my checkout\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(checkout, 0o755)
	py := `
import os
print(open("/etc/echo/config/app.conf").read().strip())
try:
    open("/etc/echo/config/app.conf", "w")
except OSError as e:
    print("write", e.strerror)
`
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-map", "/etc/echo/config="+checkout, "--", "python3", "-c", py).run()
	if code != 0 || !strings.Contains(out, "greeting = from my checkout") || !strings.Contains(out, "write Read-only file system") {
		t.Fatalf("exit %d, got %q\n%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(checkout, "app.conf")); string(b) != "greeting = from my checkout\n" {
		t.Fatalf("the checkout changed: %q", b)
	}
}

// --fs-map REMOTE=LOCAL:rw: the program creates, writes, renames and
// unlinks files under the pod's path and they land in the local directory;
// a read-only map beside it still refuses writes (EROFS), and nothing
// appears at the pod's path on this machine.
func TestFSMapReadWriteTakesTheProgramsWrites(t *testing.T) {
	target, _ := echoPods(t)
	rw, ro := t.TempDir(), t.TempDir()
	os.Chmod(rw, 0o755)
	os.Chmod(ro, 0o755)
	py := `
import os
d = "/srv/source_test"
os.mkdir(d + "/sub")
with open(d + "/a.txt", "w") as f:
    f.write("made by the program\n")
os.rename(d + "/a.txt", d + "/sub/b.txt")
open(d + "/gone.txt", "w").close()
os.unlink(d + "/gone.txt")
print(sorted(os.listdir(d)), os.listdir(d + "/sub"))
for p in ("/srv/ro_test/x.txt",):
    try:
        open(p, "w")
    except OSError as e:
        print("write", e.strerror)
try:
    os.rename(d + "/sub/b.txt", "/srv/ro_test/b.txt")
except OSError as e:
    print("rename", e.strerror)
`
	// Out of a writable map into a read-only one: EROFS on the stop path;
	// the mount view's kernel sees two mounts first (EXDEV, limits.md).
	for _, view := range []struct{ name, rename string }{{"stops", "Read-only file system"}, {"mount", "Invalid cross-device link"}} {
		for _, dir := range []string{rw, ro} {
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
		out, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-view", view.name, "--fs-map", "/srv/source_test="+rw+":rw",
			"--fs-map", "/srv/ro_test="+ro, "--", "python3", "-c", py).run()
		want := "['sub'] ['b.txt']\nwrite Read-only file system\nrename " + view.rename + "\n"
		if code != 0 || out != want {
			t.Fatalf("--fs-view %s: exit %d, got %q, want %q\n%s", view.name, code, out, want, errOut)
		}
	}
	if b, err := os.ReadFile(filepath.Join(rw, "sub", "b.txt")); err != nil || string(b) != "made by the program\n" {
		t.Fatalf("sub/b.txt in the local directory: %q, %v", b, err)
	}
	for _, gone := range []string{filepath.Join(rw, "a.txt"), filepath.Join(rw, "gone.txt"), filepath.Join(ro, "x.txt"), "/srv/source_test"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s exists", gone)
		}
	}
}

// --fs-write: mkdir, write, rename, unlink, utime, chown, setxattr and mkfifo in the pod's writable /tmp are
// made in the pod (seen in the container's root from this machine) and
// seen by the program's own later reads; this machine's /tmp is untouched;
// a read-only mount answers with the pod's EROFS; symlinks the pod holds
// never lead a write out of the container's root.
func TestWriteModeChangesThePodsFiles(t *testing.T) {
	target, _ := echoPods(t)
	root := fmt.Sprintf("/proc/%d/root", containerPID(t, target.name, "echo"))
	dir := fmt.Sprintf("/tmp/write-%d", time.Now().UnixNano())
	// The pod's own /etc/shadow, made by the writes below: none before, none after.
	_ = os.Remove(root + "/etc/shadow")
	t.Cleanup(func() { _ = os.Remove(root + "/etc/shadow") })
	shadow := func() string {
		b, _ := os.ReadFile("/etc/shadow")
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	before := shadow()
	py := `
import os, sys
d = sys.argv[1]
os.mkdir(d)
open(d + "/a.txt", "w").write("hello pod")
os.rename(d + "/a.txt", d + "/b.txt")
open(d + "/gone", "w").write("x")
os.unlink(d + "/gone")
print("read", open(d + "/b.txt").read(), sorted(os.listdir(d)))
os.utime(d + "/b.txt", (1000000000, 1000000000))
os.chown(d + "/b.txt", 1234, 1234)
os.setxattr(d + "/b.txt", "user.origin", b"laptop")
os.mkfifo(d + "/fifo")
os.unlink(d + "/fifo")
print("mtime", int(os.stat(d + "/b.txt").st_mtime))
for p in ["/etc/echo/config/new", "/data/host-shadow", "/data/dotdot-shadow"]:
    try:
        open(p, "a").write("pwned\n")
        print("wrote", p)
    except OSError as e:
        print(p, e.strerror)
`
	// As on a laptop with pyenv: python3 is a bash shim first on PATH that
	// changes into the working directory, and the working directory is
	// under the pod's /tmp (a checkout under /tmp, with a space in its path).
	work := filepath.Join(t.TempDir(), "with space", "a", "b")
	shims := shimDir(t, "python3", "/usr/bin/python3")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-remote", "/tmp", "--fs-remote", "/data", "--fs-write", "--", "python3", "-c", py, dir).
		dir(work).env("PATH=" + shims + ":" + os.Getenv("PATH")).run()
	if code != 0 || !strings.Contains(out, "read hello pod ['b.txt']") || !strings.Contains(out, "/etc/echo/config/new Read-only file system") {
		t.Fatalf("exit %d, got:\n%s\n%s", code, out, errOut)
	}
	if b, err := os.ReadFile(root + dir + "/b.txt"); err != nil || string(b) != "hello pod" {
		t.Fatalf("the pod's %s/b.txt: %q %v", dir, b, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(root+dir+"/b.txt", &st); err != nil || st.Mtim.Sec != 1000000000 || st.Uid != 1234 || !strings.Contains(out, "mtime 1000000000") {
		t.Fatalf("utime and chown in the pod: mtime %d uid %d (%v); the program saw:\n%s", st.Mtim.Sec, st.Uid, err, out)
	}
	xattr := make([]byte, 64)
	if n, err := unix.Getxattr(root+dir+"/b.txt", "user.origin", xattr); err != nil || string(xattr[:n]) != "laptop" {
		t.Fatalf("setxattr in the pod: %q %v", xattr[:max(n, 0)], err)
	}
	if entries, _ := os.ReadDir(root + dir); len(entries) != 1 {
		t.Fatalf("the pod's %s holds %v, want b.txt alone", dir, entries)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("this machine's %s was made: %v", dir, err)
	}
	if shadow() != before {
		t.Fatal("a write through the pod's symlinks changed this machine's /etc/shadow")
	}
	if !regexp.MustCompile(`\d+ files? written to the pod`).MatchString(errOut) {
		t.Fatalf("no write summary:\n%s", errOut)
	}
	// In the pod a symlink leads inside the container's root: the writes
	// through the pod's links landed in the pod's /etc/shadow.
	if !strings.Contains(out, "wrote /data/host-shadow") || !strings.Contains(out, "wrote /data/dotdot-shadow") {
		t.Fatalf("writes through the pod's symlinks did not behave as in the pod:\n%s", out)
	}
	if b, _ := os.ReadFile(root + "/etc/shadow"); string(b) != "pwned\npwned\n" {
		t.Fatalf("the pod's /etc/shadow holds %q", b)
	}
}

// shimDir makes a directory holding a version manager's kind of shim named
// name: a bash script that changes into its working directory (as pyenv's
// does) and execs real.
func shimDir(t *testing.T, name, real string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "shims")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/usr/bin/env bash\nset -e\ncd \"$PWD\" || { echo \"shim: cannot change working directory to '$PWD'\" >&2; exit 1; }\nexec " + real + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
