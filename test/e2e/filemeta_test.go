//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stat run by the program shows the pod's files as the pod has them, not our
// copies: the sticky bit of the pod's /tmp, the modes and modification times of
// an image file and a ConfigMap file, and the file system ids statfs reports. The
// truth is GNU stat itself, run on this machine (the node) in the container's root.
func TestPodFilesShowThePodsMetadata(t *testing.T) {
	target, _ := echoPods(t)
	root := containerRoot(t, target.name, "/data/blob")
	paths := []string{"/tmp", "/data/blob", "/etc/echo/config/app.conf", "/etc/echo/config"}
	format := []string{"-c", "%n %A %Y"}
	fsFormat := []string{"-f", "-c", "%n %i %t"}

	out, errOut, code := plugin(t, append(append([]string{"run", "pod/" + target.name,
		"--fs-remote", "/tmp", "--fs-remote", "/data", "--", "stat", "-L"}, format...), paths...)...).run()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if want := nativeStat(t, root, append(append([]string{"-L"}, format...), paths...)); out != want {
		t.Errorf("stat in the program:\n%s\nstat in the pod:\n%s", out, want)
	}
	fsPaths := []string{"/etc/echo/config", "/data"}
	out, errOut, code = plugin(t, append(append([]string{"run", "pod/" + target.name,
		"--fs-remote", "/data", "--", "stat"}, fsFormat...), fsPaths...)...).run()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if want := nativeStat(t, root, append(fsFormat, fsPaths...)); out != want {
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

// nativeStat runs stat on this machine on the paths inside root, and names
// them as the pod does.
func nativeStat(t *testing.T, root string, args []string) string {
	t.Helper()
	for i, a := range args {
		if strings.HasPrefix(a, "/") {
			args[i] = root + a
		}
	}
	out, err := exec.Command("stat", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("stat %v: %v\n%s", args, err, out)
	}
	return strings.ReplaceAll(string(out), root, "")
}
