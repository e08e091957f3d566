package remotefiles

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// fakePod is a Fetcher serving an atomic-writer ConfigMap mount and a file.
type fakePod struct{ calls int }

func (f *fakePod) Tree(path string, fn func(protocol.TreeEntry, io.Reader) error) error {
	f.calls++
	file := func(p, content string) error {
		return fn(protocol.TreeEntry{Path: p, Type: protocol.TreeFile, Mode: 0o644, Size: int64(len(content))}, bytes.NewReader([]byte(content)))
	}
	switch path {
	case "/etc/app/config":
		for _, e := range []protocol.TreeEntry{
			{Path: "", Type: protocol.TreeDir, Mode: 0o777},
			{Path: "..2025_01_01", Type: protocol.TreeDir, Mode: 0o755},
			{Path: "..data", Type: protocol.TreeSymlink, Link: "..2025_01_01"},
			{Path: "app.conf", Type: protocol.TreeSymlink, Link: "..data/app.conf"},
			{Path: "abs", Type: protocol.TreeSymlink, Link: "/etc/hosts"},
			{Path: "climb", Type: protocol.TreeSymlink, Link: "../../../../../../../etc/passwd"},
		} {
			if err := fn(e, bytes.NewReader(nil)); err != nil {
				return err
			}
		}
		return file("..2025_01_01/app.conf", "greeting = pod\n")
	case "/etc/hosts":
		return file("", "10.0.0.7 pod\n")
	}
	return &session.RemoteError{Errno: unix.ENOENT, Msg: "no such file"}
}

func TestCacheMirrorsThePodsLayout(t *testing.T) {
	c, err := NewCache(filepath.Join(t.TempDir(), "kubectl-mirror"), []string{"/etc/app/config/local-only"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f := &fakePod{}
	if err := c.Fetch(f, "/etc/hosts", "/etc/app/config", "/var/run/secrets/kubernetes.io"); err != nil {
		t.Fatal(err)
	}
	if fetches, _ := c.Stats(); fetches != 3 || f.calls != 3 {
		t.Fatalf("fetches %d, calls %d", fetches, f.calls)
	}
	verdict := func(path string, flags int) (string, unix.Errno) {
		v := c.Path(&tracer.Call{Path: path, OpenFlag: flags})
		return verdictOf(v)
	}
	// Reads go to the copy, which resolves the ..data symlinks as the pod does.
	local, _ := verdict("/etc/app/config/app.conf", unix.O_RDONLY)
	if b, err := os.ReadFile(local); err != nil || string(b) != "greeting = pod\n" {
		t.Fatalf("app.conf via %s: %q %v", local, b, err)
	}
	if l, _ := os.Readlink(local); l != "..data/app.conf" {
		t.Fatalf("readlink shows %q", l)
	}
	abs, _ := verdict("/etc/app/config/abs", 0)
	if b, _ := os.ReadFile(abs); string(b) != "10.0.0.7 pod\n" {
		t.Fatalf("absolute symlink into another remote root reads %q", b)
	}
	climb, _ := verdict("/etc/app/config/climb", 0)
	if _, err := os.ReadFile(climb); !os.IsNotExist(err) {
		t.Fatalf("a relative symlink climbing out of the pod's root reached this machine's /etc/passwd: %v", err)
	}
	dir, _ := verdict("/etc/app/config", unix.O_RDONLY|unix.O_DIRECTORY)
	names, _ := os.ReadDir(dir)
	if len(names) != 5 {
		t.Fatalf("listing %v, want ..2025_01_01 ..data abs app.conf climb", names)
	}
	if _, errno := verdict("/etc/hosts", unix.O_WRONLY|unix.O_TRUNC); errno != unix.EROFS {
		t.Fatalf("write open: %v, want EROFS", errno)
	}
	if _, errno := verdict("/var/run/secrets/kubernetes.io/serviceaccount/token", 0); errno != unix.ENOENT {
		t.Fatalf("missing root: %v, want ENOENT", errno)
	}
	if p, errno := verdict("/etc/app/config/local-only/x", 0); p != "" || errno != 0 {
		t.Fatalf("--fs-local path: %q %v, want it untouched", p, errno)
	}
	if p, errno := verdict("/etc/passwd", 0); p != "" || errno != 0 {
		t.Fatalf("local path: %q %v", p, errno)
	}
	if p, _ := verdict("/etc/app", unix.O_RDONLY|unix.O_DIRECTORY); p != filepath.Join(c.dir, "/etc/app") {
		t.Fatalf("/etc/app, absent here and above a remote root: %q", p)
	}
	if p, _ := verdict("/etc", unix.O_RDONLY|unix.O_DIRECTORY); p != "" {
		t.Fatalf("/etc exists here and stays local: %q", p)
	}
	if got := filepath.Dir(local); !bytes.HasPrefix([]byte(got), []byte(c.dir)) {
		t.Fatalf("copy outside the cache: %s", got)
	}
}

func TestMountRootsAndPatterns(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{
		Volumes: []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}},
			{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "token", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}},
		},
		Containers: []corev1.Container{
			{Name: "app", VolumeMounts: []corev1.VolumeMount{{Name: "cfg", MountPath: "/etc/app/"}, {Name: "data", MountPath: "/data"}, {Name: "token", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount"}}},
			{Name: "side", VolumeMounts: []corev1.VolumeMount{{Name: "sec", MountPath: "/side"}}},
		},
	}}
	got := MountRoots(pod, "app")
	if len(got) != 2 || got[0] != "/etc/app" || got[1] != "/var/run/secrets/kubernetes.io/serviceaccount" {
		t.Fatalf("MountRoots = %v", got)
	}
	for in, want := range map[string]string{"/app/config/**": "/app/config", "/app/config/": "/app/config", "/etc/x.conf": "/etc/x.conf"} {
		if p, err := ParsePattern(in); err != nil || p != want {
			t.Errorf("ParsePattern(%q) = %q %v", in, p, err)
		}
	}
	for _, bad := range []string{"relative", "/etc/*.conf"} {
		if _, err := ParsePattern(bad); err == nil {
			t.Errorf("ParsePattern(%q) accepted", bad)
		}
	}
}

// A call that changes the file system at a remote path (by name, through
// the copy, or as either end of a rename) fails with EROFS; the same call
// on a local path runs.
func TestMutationsOfRemotePathsAreRefused(t *testing.T) {
	c, err := NewCache(filepath.Join(t.TempDir(), "kubectl-mirror"), []string{"/etc/app/config/local-only"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Fetch(&fakePod{}, "/etc/hosts", "/etc/app/config"); err != nil {
		t.Fatal(err)
	}
	copyDir, _ := verdictOf(c.Path(&tracer.Call{Path: "/etc/app/config", OpenFlag: unix.O_RDONLY | unix.O_DIRECTORY}))
	cases := []struct {
		name        string
		path, path2 string
		want        unix.Errno
	}{
		{"unlink of a remote file", "/etc/hosts", "", unix.EROFS},
		{"mkdir under a remote directory", "/etc/app/config/new", "", unix.EROFS},
		{"unlinkat through a directory fd of the copy", filepath.Join(copyDir, "app.conf"), "", unix.EROFS},
		{"rename of a local file onto a remote path", "/tmp/mine", "/etc/hosts", unix.EROFS},
		{"rename of a remote file to a local path", "/etc/app/config/app.conf", "/tmp/stolen", unix.EROFS},
		{"a local path kept local by --fs-local", "/etc/app/config/local-only", "", 0},
		{"a local path", "/tmp/scratch", "", 0},
	}
	for _, tc := range cases {
		if _, errno := verdictOf(c.Path(&tracer.Call{Path: tc.path, Path2: tc.path2, Mutates: true})); errno != tc.want {
			t.Errorf("%s: errno %v, want %v", tc.name, errno, tc.want)
		}
	}
}
