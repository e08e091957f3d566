package remotefiles

import (
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// The program's stat of a pod's file reports the pod's file: owner, link
// count, inode and device, size, times, as the agent sent them with the
// tree (or later, after a change in write mode). Each is kept by the inode
// of its copy, so whatever reaches the copy (a path, a symlink followed, a
// cwd or dirfd inside it, an open fd) finds it: the stat runs on the copy,
// and its result is rewritten at the call's exit.

// MetaAsker asks the pod for the metadata of paths (lstat).
type MetaAsker interface {
	Stat(paths []string) ([]*protocol.FileMeta, error)
}

// Stat decides the stat family (tracer.Sysno.IsStat):
// made on the copy as Path decides, or on the program's fd, and shown with
// the pod's metadata when it reached a copy.
func (c *Cache) Stat(call *tracer.Call) tracer.Verdict {
	v, p := tracer.Allow(), call.Path // about an fd: Path is its file
	if call.RawPath != "" {
		v = c.Path(call)
		if p = tracer.VerdictPath(v); p == "" {
			p = call.Path
		}
	}
	if tracer.VerdictErrno(v) != 0 || p == "" || !under(p, c.dir) {
		return v
	}
	v = v.AtExit(c.meta.show)
	if c.write != nil && c.write.written(p) {
		// Written by the program: what it closed reaches the pod, and the
		// pod's answer the copy, before the stat.
		go func() {
			c.write.flush()
			call.Resume(v)
		}()
		return tracer.Hold()
	}
	return v
}

// copyVerdict points call at the copy p, with the pod's metadata for a stat.
func (c *Cache) copyVerdict(call *tracer.Call, p string) tracer.Verdict {
	v := tracer.ReplacePath(p)
	if call.Syscall.IsStat() {
		v = v.AtExit(c.meta.show)
	}
	return v
}

// record keeps pm as the pod's metadata of the copy at dst.
func (m *podMeta) record(dst string, pm *protocol.FileMeta) {
	var st unix.Stat_t
	if pm == nil || unix.Lstat(dst, &st) != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byIno == nil {
		m.byIno = map[uint64]protocol.FileMeta{}
	}
	m.dev = st.Dev
	m.byIno[st.Ino] = *pm
}

// forget drops what is known of the copy at dst (about to be removed or
// rewritten: its inode may come back as another file's).
func (m *podMeta) forget(dst string) {
	fi, err := os.Lstat(dst)
	if err != nil {
		return
	}
	m.mu.Lock()
	delete(m.byIno, fi.Sys().(*syscall.Stat_t).Ino)
	m.mu.Unlock()
}

// show replaces what the kernel said of a copy with the pod's metadata.
func (m *podMeta) show(e *tracer.Exit) {
	st, ok := e.Stat()
	if !ok {
		return
	}
	m.mu.Lock()
	pm, known := m.byIno[st.Ino]
	known = known && st.Dev == m.dev
	m.mu.Unlock()
	if !known {
		return // made here and not yet asked of the pod: the copy's own
	}
	e.SetStat(tracer.FileStat{Dev: pm.Dev, Ino: pm.Ino, Nlink: pm.Nlink, Rdev: pm.Rdev, Mode: pm.Mode,
		UID: pm.UID, GID: pm.GID, Size: pm.Size, Blksize: pm.Blksize, Blocks: pm.Blocks,
		Atime: unix.NsecToTimespec(pm.Atime), Mtime: unix.NsecToTimespec(pm.Mtime), Ctime: unix.NsecToTimespec(pm.Ctime)})
}

// refresh asks the pod again about paths it changed (write mode), and
// their directories, whose times, sizes and link counts changed too.
func (c *Cache) refresh(paths ...string) {
	if c.write == nil || c.write.meta == nil {
		return
	}
	var ask []string
	seen := map[string]bool{}
	for _, p := range paths {
		for _, q := range []string{p, filepath.Dir(p)} {
			if p != "" && !seen[q] {
				seen[q] = true
				ask = append(ask, q)
			}
		}
	}
	metas, err := c.write.meta.Stat(ask)
	if err != nil || len(metas) != len(ask) {
		return // an agent that predates stat: the copies' own metadata
	}
	for i, pm := range metas {
		c.meta.record(filepath.Join(c.dir, ask[i]), pm)
	}
}
