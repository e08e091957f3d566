//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

func TestInClusterClientWorksUnchanged(t *testing.T) {
	programs(t)
	target, other := echoPods(t)
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", testProgs.incluster).run()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	for _, want := range []string{target.name, other.name, "toolbox"} {
		if !strings.Contains(out, want+"\n") {
			t.Fatalf("in-cluster client listed %q, want %s among them", out, want)
		}
	}
}

func TestPodFilesAtTheirPaths(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	run := func(argv ...string) (string, string, int) {
		return plugin(t, append([]string{"run", "pod/" + target.name, "--"}, argv...)...).run()
	}
	const conf, pass = "greeting = hello from the pod's configmap\n", "s3cret-from-the-pod"
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{netprobe, "cat", "/etc/echo/config/app.conf"}, conf},
		{[]string{netprobe, "cat", "/etc/echo/secret/password"}, pass},
		{[]string{netprobe, "stat", "/etc/echo/secret/password"}, "size 19\n"},
		{[]string{netprobe, "cat", "/etc/hostname"}, target.name + "\n"},
		{[]string{"python3", "-c", "print(open('/etc/echo/config/app.conf').read() + open('/etc/echo/secret/password').read())"}, conf + pass + "\n"},
		{[]string{"ls", "/etc/echo/config"}, "app.conf\n"},
		{[]string{"sh", "-c", "ls -a /etc/echo/config | grep -c '^\\.\\.'"}, "3\n"}, // .. ..data ..TIMESTAMP
		{[]string{"readlink", "/etc/echo/config/app.conf"}, "..data/app.conf\n"},
		{[]string{"ls", "/etc/echo"}, "config\nsecret\n"},
	} {
		out, errOut, code := run(tc.argv...)
		if code != 0 || out != tc.want {
			t.Errorf("%v: exit %d, got %q, want %q\n%s", tc.argv, code, out, tc.want, errOut)
		}
	}
	// Outside the remote set, the laptop's own file (the pod's image has none).
	local, err := os.ReadFile("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	if out, _, code := run(netprobe, "cat", "/etc/os-release"); code != 0 || out != string(local) {
		t.Errorf("/etc/os-release is not the local one: %q", out)
	}
	// A path the pod does not have, under a remote directory: ENOENT.
	if _, errOut, code := run(netprobe, "cat", "/etc/echo/config/missing"); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing remote file: exit %d\n%s", code, errOut)
	}
	// Writes never reach the pod.
	if _, errOut, code := run("sh", "-c", "echo x > /etc/echo/config/app.conf"); code == 0 || !strings.Contains(errOut, "Read-only file system") {
		t.Errorf("write to a remote file: exit %d\n%s", code, errOut)
	}
}

func TestRemoteFileIsFetchedOnceThenReadLocally(t *testing.T) {
	target, _ := echoPods(t)
	blob, err := os.ReadFile(filepath.Join(repoRoot(t), ".cluster", "image-build", "blob"))
	if err != nil {
		t.Fatal(err)
	}
	// A first run makes sure of the agent (started or reused) and names it.
	_, errOut, code := plugin(t, "run", "pod/"+target.name, "--", "true").run()
	agent := regexp.MustCompile(`(?:reusing|starting) agent (mirror-agent-[0-9a-f]+)`).FindStringSubmatch(errOut)
	if code != 0 || agent == nil {
		t.Fatalf("exit %d, no agent named in %s", code, errOut)
	}
	before := dataFetches(t, target.name, agent[1])
	sum := sha256.Sum256(blob)
	want := strings.Repeat(hex.EncodeToString(sum[:])+"  /data/blob\n", 3)
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-remote", "/data/**", "--",
		"sh", "-c", "sha256sum /data/blob; sha256sum /data/blob; cat /data/blob | sha256sum | sed 's#-#/data/blob#'").run()
	if code != 0 || out != want {
		t.Fatalf("exit %d, got %q, want %q\n%s", code, out, want, errOut)
	}
	if !strings.Contains(errOut, "reusing agent "+agent[1]) {
		t.Fatalf("the second run did not reuse %s:\n%s", agent[1], errOut)
	}
	if after := dataFetches(t, target.name, agent[1]); after != before+1 {
		t.Fatalf("three reads of /data/blob cost %d fetches of /data from the agent, want 1", after-before)
	}
	if !regexp.MustCompile(`\d+ files? from the pod \(`).MatchString(errOut) {
		t.Fatalf("no file summary:\n%s", errOut)
	}
}

// dataFetches counts the agent's fetches of /data so far, from its log.
func dataFetches(t *testing.T, pod, agent string) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(kubectl(t, "logs", pod, "-c", agent), "\n") {
		if strings.Contains(l, "served tree") && strings.Contains(l, `"path":"/data"`) {
			n++
		}
	}
	return n
}

func TestRemoteFilesNeverLeaveThePodsRoot(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	if _, err := os.Stat("/etc/shadow"); err != nil {
		testenv.Skip(t, "this machine has no /etc/shadow to leak")
	}
	// Symlinks in the pod pointing at /etc/shadow, and the path itself: the
	// pod has no /etc/shadow, so the program must not get this machine's.
	for _, p := range []string{"/data/host-shadow", "/data/dotdot-shadow"} {
		_, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-remote", "/data", "--", netprobe, "cat", p).run()
		if code != 1 || !strings.Contains(errOut, "no such file") {
			t.Errorf("%s: exit %d\n%s", p, code, errOut)
		}
	}
	_, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-remote", "/../../etc/shadow", "--", netprobe, "cat", "/etc/shadow").run()
	if code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("/etc/shadow asked remote: exit %d\n%s", code, errOut)
	}
}

// mutatePy tries every kind of change on a remote path, by name and through
// a directory fd of a remote directory, and prints each errno.
const mutatePy = `
import errno, os, sys
victim, d = sys.argv[1], sys.argv[2]
def attempt(name, f):
    try:
        f()
        print(name, "OK")
    except OSError as e:
        print(name, errno.errorcode[e.errno])
attempt("unlink", lambda: os.unlink(victim))
attempt("rename", lambda: os.rename(victim, victim + ".moved"))
attempt("rename-onto", lambda: os.rename("/tmp/" + os.path.basename(victim) + ".src", victim))
attempt("chmod", lambda: os.chmod(victim, 0o777))
attempt("truncate", lambda: os.truncate(victim, 0))
attempt("utime", lambda: os.utime(victim, (0, 0)))
attempt("open-write", lambda: open(victim, "w").write("x"))
attempt("mkdir", lambda: os.mkdir(os.path.dirname(victim) + "/newdir"))
attempt("symlink", lambda: os.symlink("/etc/passwd", os.path.dirname(victim) + "/link"))
attempt("link", lambda: os.link(victim, os.path.dirname(victim) + "/hard"))
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
attempt("unlinkat-dirfd", lambda: os.unlink("app.conf", dir_fd=fd))
attempt("mkdirat-dirfd", lambda: os.mkdir("x", dir_fd=fd))
print(open(d + "/app.conf").read().strip())
`

// Every mutating call on a remote path fails with EROFS and changes nothing:
// not the local file of the same name, not the session's copy.
func TestMutationsOfRemotePathsFailWithEROFS(t *testing.T) {
	target, _ := echoPods(t)
	dir, err := os.MkdirTemp("/tmp", "mirror-e2e-victim-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	victim := filepath.Join(dir, "victim.txt")
	if err := os.WriteFile(victim, []byte("the user's own file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "/tmp/" + filepath.Base(victim) + ".src"
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(src)
	sum := func() string {
		b, _ := os.ReadFile(victim)
		fi, _ := os.Stat(victim)
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:]) + " " + fi.Mode().String()
	}
	before := sum()
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-remote", dir, "--", "python3", "-c", mutatePy, victim, "/etc/echo/config").run()
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, name := range []string{"unlink", "rename", "rename-onto", "chmod", "truncate", "utime", "open-write", "mkdir", "symlink", "link", "unlinkat-dirfd", "mkdirat-dirfd"} {
		if !strings.Contains(out, name+" EROFS\n") {
			t.Errorf("%s: want EROFS, got:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "greeting = hello from the pod's configmap") {
		t.Errorf("the pod's file changed or vanished in the copy:\n%s", out)
	}
	if after := sum(); after != before {
		t.Fatalf("the local file at the remote path changed: %s -> %s", before, after)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("the local directory at the remote path changed: %v", entries)
	}
}
