//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A developer on macOS or Windows runs the plugin in a Linux dev container.
// In a podman container with the runtime's default seccomp profile and no
// added capability, as root and as uid 1000: trace intercepts, and run
// reaches the test cluster's API server and leaves from the pod. Under a
// profile that refuses pidfd_getfd, a debugger run is refused at start in
// one line naming what is missing and the flag that gives it.
func TestPluginInsideAContainer(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, other := echoPods(t)
	rootfs := containerRootfs(t, netprobe)
	podman := func(extra []string, args ...string) (string, error) {
		// This machine refuses raising rlimits: podman's defaults are lowered.
		base := []string{"run", "--rm", "--network", "host", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
			"-e", "KUBECONFIG=/kubeconfig", "-e", "PATH=/bin"}
		cmd := exec.Command("podman", append(append(append(base, extra...), "--rootfs", rootfs), args...)...)
		cmd.Dir = t.TempDir()
		done := make(chan struct{})
		var out []byte
		var err error
		go func() { out, err = cmd.CombinedOutput(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Minute):
			_ = cmd.Process.Kill()
			<-done
		}
		return string(out), err
	}
	for _, user := range []string{"0:0", "1000:1000"} {
		as := []string{"--user", user, "-e", "HOME=/tmp/home-" + strings.Split(user, ":")[0]} // each its own key
		out, err := podman(as, "/kubectl-mirror", "trace", "--", "/netprobe", "stat", "/etc/resolv.conf")
		if err != nil || !strings.Contains(out, "processes: 1 intercepted") || !strings.Contains(out, "1 file (/etc/resolv.conf)") {
			t.Errorf("trace as %s: %v\n%s", user, err, out)
		}
		out, err = podman(as, "/kubectl-mirror", "run", "pod/"+target.name, "--",
			"/netprobe", "http", "http://"+other.ip+":8080/from-container", "1")
		if err != nil || !strings.Contains(out, `"path":"/from-container"`) || !strings.Contains(out, `"remote":"`+target.ip+":") {
			t.Errorf("run as %s: %v\n%s", user, err, out)
		}
	}
	profile := filepath.Join(t.TempDir(), "deny-pidfd-getfd.json")
	if err := os.WriteFile(profile, []byte(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["pidfd_getfd"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := podman([]string{"--security-opt", "seccomp=" + profile, "-e", "HOME=/tmp"}, "/kubectl-mirror", "trace", "--", "gdb", "--version")
	if err == nil || !strings.Contains(out, "pidfd_getfd") || !strings.Contains(out, "--security-opt seccomp=unconfined") ||
		strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Fatalf("a debugger under a profile refusing pidfd_getfd: %v\n%s", err, out)
	}
}

// containerRootfs is a root file system for podman's --rootfs: the plugin,
// a static test program (also standing in for gdb), users 0 and 1000, the
// test cluster's kubeconfig, a /tmp anyone may write.
func containerRootfs(t *testing.T, netprobe string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil { // uid 1000's / too
		t.Fatal(err)
	}
	for _, d := range []string{"bin", "etc", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	copyFile := func(from, to string, mode os.FileMode) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, to), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(repoRoot(t), "bin", "kubectl-mirror"), "kubectl-mirror", 0o755)
	copyFile(netprobe, "netprobe", 0o755)
	copyFile(netprobe, "bin/gdb", 0o755)
	copyFile(kubeconfig(t), "kubeconfig", 0o644)
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte("root:x:0:0::/tmp:/bin/sh\ndev:x:1000:1000::/tmp:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}
