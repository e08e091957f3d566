package remotefiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// In write mode (--fs-write) the program changes the pod's files: each
// change of a remote path is made in the pod by the agent first (so the
// pod's permissions, read-only mounts and errors decide), then in the
// session's copy, so the program's later reads, stats and listings see it.
// A file opened for writing is written in the copy and sent to the pod
// whole each time the program closes it (writeback.go).

// Mutator changes the target's file system.
type Mutator interface {
	Mutate(req protocol.Request) error
}

// Writable lets the program change the pod's files through pod.
func (c *Cache) Writable(pod Mutator) error {
	wb, err := newWriteback(pod)
	if err != nil {
		return err
	}
	wb.meta, _ = pod.(MetaAsker)
	wb.sentTo = func(p string) { c.refresh(p) }
	c.write = wb
	return nil
}

// podPath is the pod's path for p, which may lie in the session's copy.
func (c *Cache) podPath(p string) string {
	if p != "" && under(p, c.dir) {
		return filepath.Join("/", strings.TrimPrefix(p, c.dir))
	}
	return p
}

// writeVerdict decides a change of a remote path in write mode: the pod
// first, then the copy; the program gets the pod's result.
func (c *Cache) writeVerdict(call *tracer.Call) tracer.Verdict {
	if _, ok := c.mapped(call.Path); ok {
		return tracer.Fail(unix.EROFS) // a local checkout stands there: not the pod's to change
	}
	if call.Path2 != "" && c.isRemote(call.Path) != c.isRemote(call.Path2) {
		return tracer.Fail(unix.EXDEV) // across file systems, as the kernel says
	}
	if !call.Mutates {
		return c.openForWrite(call)
	}
	req, ok := c.mutation(call)
	if !ok {
		return tracer.Fail(unix.EROFS) // a call this package cannot read
	}
	go func() {
		c.write.flush() // a file closed just before (write, then rename) reaches the pod first
		if c.lazy != nil {
			_ = c.lazy.resolve(c, req.Path, req.Op == protocol.OpTruncate || req.Op == protocol.OpRename || req.Op == protocol.OpLink)
		}
		if err := c.write.pod.Mutate(req); err != nil {
			call.Resume(tracer.Fail(session.RemoteErrno(err, unix.EIO)))
			return
		}
		c.applyToCopy(req)
		c.refresh(req.Path, req.Path2)
		call.Resume(tracer.Return(0))
	}()
	return tracer.Hold()
}

// mutation is the request that makes call's change in the pod.
func (c *Cache) mutation(call *tracer.Call) (protocol.Request, bool) {
	ch := call.Change
	r := protocol.Request{Path: c.podPath(call.Path), Path2: c.podPath(call.Path2)}
	if ch.Unread {
		return r, false
	}
	noFollow := 0
	if ch.NoFollow {
		noFollow = unix.AT_SYMLINK_NOFOLLOW
	}
	switch call.Syscall {
	case tracer.SysMkdir, tracer.SysMkdirat:
		r.Op, r.Perm = protocol.OpMkdir, ch.Mode
	case tracer.SysUnlink:
		r.Op = protocol.OpUnlink
	case tracer.SysRmdir:
		r.Op = protocol.OpRmdir
	case tracer.SysUnlinkat:
		r.Op = protocol.OpUnlink
		if ch.RemoveDir {
			r.Op = protocol.OpRmdir
		}
	case tracer.SysRename, tracer.SysRenameat, tracer.SysRenameat2:
		r.Op, r.Flags = protocol.OpRename, ch.RenameFlags
	case tracer.SysLink, tracer.SysLinkat:
		r.Op = protocol.OpLink
	case tracer.SysSymlink, tracer.SysSymlinkat:
		r.Op, r.Link = protocol.OpSymlink, ch.LinkTarget
	case tracer.SysChmod, tracer.SysFchmodat, tracer.SysFchmodat2:
		r.Op, r.Perm = protocol.OpChmod, ch.Mode
	case tracer.SysTruncate:
		r.Op, r.Size = protocol.OpTruncate, ch.Size
	case tracer.SysChown, tracer.SysLchown, tracer.SysFchownat:
		r.Op, r.Owner, r.Flags = protocol.OpChown, []int{ch.UID, ch.GID}, noFollow
	case tracer.SysUtimensat, tracer.SysUtimes, tracer.SysFutimesat, tracer.SysUtime:
		t := ch.Times
		r.Op, r.Times, r.Flags = protocol.OpTimes, []int64{t[0].Sec, t[0].Nsec, t[1].Sec, t[1].Nsec}, noFollow
	case tracer.SysSetxattr, tracer.SysLsetxattr:
		r.Op, r.Xattr, r.Data, r.Flags = protocol.OpSetxattr, ch.Xattr, ch.XattrValue, noFollow|ch.XattrFlags
	case tracer.SysRemovexattr, tracer.SysLremovexattr:
		r.Op, r.Xattr, r.Flags = protocol.OpRmxattr, ch.Xattr, noFollow
	case tracer.SysMknod, tracer.SysMknodat:
		r.Op, r.Perm, r.Dev = protocol.OpMknod, ch.Mode, ch.Dev
	default:
		return r, false
	}
	return r, true
}

// openForWrite opens a remote file for writing: the pod opens (creates,
// truncates) it first, then the program writes the copy, which goes to the
// pod when the program closes it.
func (c *Cache) openForWrite(call *tracer.Call) tracer.Verdict {
	p := c.podPath(call.Path)
	req := protocol.Request{Op: protocol.OpOpen, Path: p, Flags: call.OpenFlag, Perm: call.Change.Mode}
	go func() {
		c.write.flush()
		if c.lazy != nil {
			_ = c.lazy.resolve(c, p, true) // the bytes an O_APPEND or O_RDWR open keeps
		}
		if err := c.write.pod.Mutate(req); err != nil {
			call.Resume(tracer.Fail(session.RemoteErrno(err, unix.EIO)))
			return
		}
		cp := filepath.Join(c.dir, p)
		// Stat follows a symlink the pod holds (the copy points it inside
		// itself), so a file made through one is made where it leads.
		if _, err := os.Stat(cp); errors.Is(err, os.ErrNotExist) {
			_ = os.MkdirAll(filepath.Dir(cp), 0o700)
			if f, err := os.OpenFile(cp, os.O_CREATE|os.O_WRONLY, os.FileMode(req.Perm&0o777)|0o600); err == nil {
				f.Close()
			}
		}
		c.meta.forget(cp) // the program writes it: the copy's size and times until the pod has it
		if err := c.write.watch(cp, p); err != nil {
			call.Resume(tracer.Fail(unix.EIO))
			return
		}
		call.Resume(tracer.ReplacePath(cp))
	}()
	return tracer.Hold()
}

// applyToCopy makes in the copy the change the pod made, so the program's
// later reads agree with the pod.
func (c *Cache) applyToCopy(req protocol.Request) {
	cp, cp2 := filepath.Join(c.dir, req.Path), filepath.Join(c.dir, req.Path2)
	switch req.Op {
	case protocol.OpMkdir:
		_ = os.MkdirAll(filepath.Dir(cp), 0o700)
		_ = os.Mkdir(cp, os.FileMode(req.Perm&0o777)|0o700)
		c.markListed(req.Path) // a new directory is empty: nothing to list from the pod
	case protocol.OpUnlink, protocol.OpRmdir:
		c.meta.forget(cp)
		_ = os.Remove(cp)
	case protocol.OpRename:
		c.meta.forget(cp2)
		_ = os.MkdirAll(filepath.Dir(cp2), 0o700)
		_ = os.Rename(cp, cp2)
		c.moved(req.Path, req.Path2)
	case protocol.OpLink:
		_ = os.Link(cp, cp2)
	case protocol.OpSymlink:
		target := req.Link
		if filepath.IsAbs(target) || climbsAboveRoot(filepath.Dir(req.Path), target) {
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(req.Path), target)
			}
			target = filepath.Join(c.dir, filepath.Clean(target))
		}
		_ = os.Symlink(target, cp)
	case protocol.OpChmod:
		extra := os.FileMode(0o600) // the copy stays the plugin's to read and remove
		if fi, err := os.Stat(cp); err == nil && fi.IsDir() {
			extra = 0o700
		}
		_ = os.Chmod(cp, os.FileMode(req.Perm&0o777)|extra)
	case protocol.OpTruncate:
		_ = os.Truncate(cp, req.Size)
	case protocol.OpMknod:
		if t := req.Perm & unix.S_IFMT; t == unix.S_IFREG || t == unix.S_IFIFO || t == 0 {
			_ = unix.Mknod(cp, req.Perm|0o600, 0) // devices and sockets only in the pod
		}
	case protocol.OpTimes:
		_ = unix.UtimesNanoAt(unix.AT_FDCWD, cp, []unix.Timespec{{Sec: req.Times[0], Nsec: req.Times[1]}, {Sec: req.Times[2], Nsec: req.Times[3]}}, req.Flags)
	}
	// chown: the copy stays this user's, so the plugin can read and remove it.
}

// markListed records a directory made by the program: the pod has nothing
// more in it than the copy.
func (c *Cache) markListed(p string) {
	if c.lazy != nil {
		c.lazy.mu.Lock()
		c.lazy.listed[p] = true
		c.lazy.mu.Unlock()
	}
}

// moved carries what is known of a renamed path (listed, stub) to its new name.
func (c *Cache) moved(from, to string) {
	if c.lazy == nil {
		return
	}
	c.lazy.mu.Lock()
	defer c.lazy.mu.Unlock()
	for _, m := range []map[string]bool{c.lazy.listed, c.lazy.stubs} {
		for p := range m {
			if under(p, from) {
				delete(m, p)
				m[filepath.Join(to, strings.TrimPrefix(p, from))] = true
			}
		}
	}
}
