package remotefiles

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// The copy of a pod's sticky /tmp and of a file in it show the pod's mode and
// times, the directory's time kept though an entry was made in it after.
func TestCopiesShowThePodsModeAndTimes(t *testing.T) {
	var m podMeta
	dir := filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	m.apply(dir, protocol.TreeEntry{Type: protocol.TreeDir, Mode: 0o1777, Mtime: 0})
	file := filepath.Join(dir, "app.conf")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	const fileTime = 1_700_000_000_123_456_789
	m.apply(file, protocol.TreeEntry{Type: protocol.TreeFile, Mode: 0o4755, Mtime: fileTime})
	link := filepath.Join(dir, "link")
	if err := os.Symlink("app.conf", link); err != nil {
		t.Fatal(err)
	}
	m.apply(link, protocol.TreeEntry{Type: protocol.TreeSymlink, Mtime: 42})

	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o1777 || st.Mtim.Nano() != 0 {
		t.Errorf("directory: mode %o mtime %d, want 1777 and the pod's 0", st.Mode&0o7777, st.Mtim.Nano())
	}
	if err := unix.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o755 || st.Mtim.Nano() != fileTime {
		t.Errorf("file: mode %o mtime %d, want 755 (no setuid) and %d", st.Mode&0o7777, st.Mtim.Nano(), int64(fileTime))
	}
	if err := unix.Lstat(link, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mtim.Nano() != 42 {
		t.Errorf("symlink mtime %d, want 42", st.Mtim.Nano())
	}
}
