package remotefiles

import (
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// podMeta gives the copies the pod's metadata, so stat in the program shows the
// pod's file and not our copy of it: a directory's setgid and sticky bits (a pod's
// /tmp is drwxrwxrwt) and the modification time build tools and caches compare.
// The owner's access the copy needs stays added, as the copy is written by us; a
// file's setuid and setgid bits are not copied (a pod's setuid-root binary must not
// become one of the user running the plugin).
//
// A directory's time changes whenever an entry is made in it, so the pod's
// time of every directory of the copy is kept and put back after each entry.
type podMeta struct {
	mu       sync.Mutex
	dirMtime map[string]int64 // copy path -> the pod's mtime, ns
	// byIno: the copy's inode -> the pod's stat of its file (podstat.go).
	byIno map[uint64]protocol.FileMeta
	dev   uint64 // the copies' device
}

// apply sets dst's mode and time to e's, and puts back its directory's time.
// Errors are dropped: metadata is fidelity, never a reason to fail a read.
func (m *podMeta) apply(dst string, e protocol.TreeEntry) {
	switch e.Type {
	case protocol.TreeDir:
		_ = unix.Chmod(dst, e.Mode&0o7777|0o700)
		m.mu.Lock()
		if m.dirMtime == nil {
			m.dirMtime = map[string]int64{}
		}
		m.dirMtime[dst] = e.Mtime
		m.mu.Unlock()
		setMtime(dst, e.Mtime, 0)
	case protocol.TreeFile:
		_ = unix.Chmod(dst, e.Mode&0o1777|0o600)
		setMtime(dst, e.Mtime, 0)
	case protocol.TreeSymlink:
		setMtime(dst, e.Mtime, unix.AT_SYMLINK_NOFOLLOW)
	}
	m.restoreDir(filepath.Dir(dst))
	m.record(dst, e.Meta)
}

// restoreDir puts back the pod's time of a directory of the copy that an entry
// was just made in (or removed from).
func (m *podMeta) restoreDir(dir string) {
	m.mu.Lock()
	ns, ok := m.dirMtime[dir]
	m.mu.Unlock()
	if ok {
		setMtime(dir, ns, 0)
	}
}

// setMtime sets the access and modification times to ns (the pod's access
// times are not sent: reading there does not change them for us).
func setMtime(p string, ns int64, flags int) {
	ts := unix.NsecToTimespec(ns)
	_ = unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, flags)
}
