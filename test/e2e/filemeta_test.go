//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stat run by the program shows the pod's files as the pod has them, not our
// copies: the mode (the sticky bit of the pod's /tmp), owner, size, link
// count, inode, device and times of an image file and directory and a
// ConfigMap file and directory, through stat (statx), lstat of a symlink,
// a Go program's os.Stat and File.Stat (fstat of an open fd) and Python's
// os.fstat (libc's newfstatat with AT_EMPTY_PATH); and the
// file system ids statfs reports. The truth is GNU stat itself and the same
// Go program, run on this machine (the node) in the container's root.
func TestPodFilesShowThePodsMetadata(t *testing.T) {
	target, _ := echoPods(t)
	netprobe, _, _ := programs(t)
	root := containerRoot(t, target.name, "/data/blob")
	paths := []string{"/tmp", "/data", "/data/blob", "/etc/echo/config/app.conf", "/etc/echo/config"}
	// Access times are left out: the agent's own read of a file may move them.
	format := []string{"-c", "%n %A %u %g %s %h %i %d %Y %Z"}
	fsFormat := []string{"-f", "-c", "%n %i %t"}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := plugin(t, append([]string{"run", "pod/" + target.name,
			"--fs-remote", "/tmp", "--fs-remote", "/data", "--"}, args...)...).run()
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		return out
	}
	for _, follow := range [][]string{{"-L"}, nil} {
		args := append(append(append([]string{}, follow...), format...), paths...)
		if out, want := run(append([]string{"stat"}, args...)...), native(t, root, "stat", args); out != want {
			t.Errorf("stat %v in the program:\n%s\nstat in the pod:\n%s", follow, out, want)
		}
	}
	args := append([]string{"statfields"}, paths...)
	if out, want := run(append([]string{netprobe}, args...)...), native(t, root, netprobe, args); out != want {
		t.Errorf("os.Stat and File.Stat in the program:\n%s\nin the pod:\n%s", out, want)
	}
	// libc's fstat is newfstatat(fd, "", AT_EMPTY_PATH): Python's os.fstat.
	py := []string{"-c", "import os, sys\nfor p in sys.argv[1:]:\n    s = os.fstat(os.open(p, os.O_RDONLY))\n" +
		"    print(p, oct(s.st_mode), s.st_uid, s.st_gid, s.st_size, s.st_nlink, s.st_ino, s.st_dev, s.st_mtime_ns, s.st_ctime_ns)"}
	pyArgs := append(py, paths...)
	if out, want := run(append([]string{"python3"}, pyArgs...)...), native(t, root, "python3", pyArgs); out != want {
		t.Errorf("Python's os.fstat in the program:\n%s\nin the pod:\n%s", out, want)
	}
	// Under --fs-write what the program makes is asked of the pod again:
	// a file it wrote and a directory it made show the pod's.
	made := fmt.Sprintf("/tmp/meta-%d", time.Now().UnixNano())
	t.Cleanup(func() { os.RemoveAll(root + made); os.RemoveAll(root + made + ".d") })
	script := fmt.Sprintf("echo written > %s && mkdir %s.d && echo more >> %s && stat -c '%s' %s %s.d", made, made, made, format[1], made, made)
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-remote", "/tmp", "--fs-write", "--", "sh", "-c", script).run()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if want := native(t, root, "stat", append(append([]string{}, format...), made, made+".d")); out != want {
		t.Errorf("stat of what the program made, in the program:\n%s\nin the pod:\n%s", out, want)
	}
	fsArgs := append(fsFormat, "/etc/echo/config", "/data")
	if out, want := run(append([]string{"stat"}, fsArgs...)...), native(t, root, "stat", fsArgs); out != want {
		t.Errorf("stat -f in the program:\n%s\nstat -f in the pod:\n%s", out, want)
	}
}

// containerRoot is /proc/PID/root of the pod's process whose root holds marker.
func containerRoot(t *testing.T, pod, marker string) string {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pid := range processesIn(string(p.UID)) {
		root := "/proc/" + strconv.Itoa(pid) + "/root"
		if _, err := os.Stat(root + marker); err == nil {
			return root
		}
	}
	t.Fatalf("no process of pod %s has %s in its root", pod, marker)
	return ""
}

// native runs a program on this machine on the paths inside root, and
// names them as the pod does.
func native(t *testing.T, root, program string, args []string) string {
	t.Helper()
	args = append([]string{}, args...)
	for i, a := range args {
		if strings.HasPrefix(a, "/") {
			args[i] = root + a
		}
	}
	out, err := exec.Command(program, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", program, args, err, out)
	}
	return strings.ReplaceAll(string(out), root, "")
}
