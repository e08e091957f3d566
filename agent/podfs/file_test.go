package podfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFileStaysInsideTheTargetsRoot(t *testing.T) {
	proc := t.TempDir()
	root := filepath.Join(proc, "9", "root")
	for _, d := range []string{"etc", "data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	_ = os.WriteFile(filepath.Join(root, "etc", "hosts"), []byte("10.0.0.1 pod\n"), 0o644)
	secret := filepath.Join(proc, "outside-secret")
	_ = os.WriteFile(secret, []byte("host secret"), 0o600)
	_ = os.Symlink("/etc/hosts", filepath.Join(root, "data", "abs-link")) // absolute: resolves inside root
	_ = os.Symlink(secret, filepath.Join(root, "data", "escape"))         // points at the host's file
	_ = os.Symlink("../../../../outside-secret", filepath.Join(root, "data", "dotdot"))
	cases := []struct {
		path, want, errno string
	}{
		{"/etc/hosts", "10.0.0.1 pod\n", ""},
		{"/data/abs-link", "10.0.0.1 pod\n", ""},
		{"/data/escape", "", "ENOENT"},
		{"/data/dotdot", "", "ENOENT"},
		{"/../../outside-secret", "", "ENOENT"},
		{"relative/path", "", "EINVAL"},
		{"/data", "", "EISDIR"},
	}
	for _, tc := range cases {
		resp := NewTarget(proc, 9).ReadFile(tc.path)
		if string(resp.Data) != tc.want || resp.Errno != tc.errno {
			t.Errorf("%s: got data %q errno %q (%s), want %q %q", tc.path, resp.Data, resp.Errno, resp.Error, tc.want, tc.errno)
		}
	}
}
