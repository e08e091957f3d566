package remotefiles

import (
	"encoding/binary"
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
			call.Resume(tracer.Fail(errnoOf(err)))
			return
		}
		c.applyToCopy(req)
		call.Resume(tracer.Return(0))
	}()
	return tracer.Hold()
}

// mutation is the request that makes call's change in the pod.
func (c *Cache) mutation(call *tracer.Call) (protocol.Request, bool) {
	a := call.Args
	r := protocol.Request{Path: c.podPath(call.Path), Path2: c.podPath(call.Path2)}
	switch call.Name {
	case "mkdir", "mkdirat":
		r.Op, r.Perm = protocol.OpMkdir, uint32(a[1])
		if call.Name == "mkdirat" {
			r.Perm = uint32(a[2])
		}
	case "unlink", "rmdir":
		r.Op = call.Name
	case "unlinkat":
		r.Op = protocol.OpUnlink
		if a[2]&unix.AT_REMOVEDIR != 0 {
			r.Op = protocol.OpRmdir
		}
	case "rename", "renameat", "renameat2":
		r.Op = protocol.OpRename
		if call.Name == "renameat2" {
			r.Flags = int(a[4])
		}
	case "link", "linkat":
		r.Op = protocol.OpLink
	case "symlink", "symlinkat":
		target, err := call.String(0)
		if err != nil {
			return r, false
		}
		r.Op, r.Link = protocol.OpSymlink, target
	case "chmod":
		r.Op, r.Perm = protocol.OpChmod, uint32(a[1])
	case "fchmodat", "fchmodat2":
		r.Op, r.Perm = protocol.OpChmod, uint32(a[2])
	case "truncate":
		r.Op, r.Size = protocol.OpTruncate, int64(a[1])
	case "chown", "lchown":
		r.Op, r.Owner = protocol.OpChown, []int{int(int32(a[1])), int(int32(a[2]))}
		if call.Name == "lchown" {
			r.Flags = unix.AT_SYMLINK_NOFOLLOW
		}
	case "fchownat":
		r.Op, r.Owner, r.Flags = protocol.OpChown, []int{int(int32(a[2])), int(int32(a[3]))}, int(a[4])&unix.AT_SYMLINK_NOFOLLOW
	case "utimensat", "utimes", "futimesat", "utime":
		times, ok := callTimes(call)
		if !ok {
			return r, false
		}
		r.Op, r.Times = protocol.OpTimes, times
		if call.Name == "utimensat" {
			r.Flags = int(a[3]) & unix.AT_SYMLINK_NOFOLLOW
		}
	case "setxattr", "lsetxattr", "removexattr", "lremovexattr":
		return c.xattrRequest(call, r)
	case "mknod", "mknodat":
		i := 1
		if call.Name == "mknodat" {
			i = 2
		}
		r.Op, r.Perm, r.Dev = protocol.OpMknod, uint32(a[i]), a[i+1]
	default:
		return r, false
	}
	return r, true
}

// xattrRequest reads a setxattr's or removexattr's name (and value).
func (c *Cache) xattrRequest(call *tracer.Call, r protocol.Request) (protocol.Request, bool) {
	name, err := call.String(1)
	if err != nil {
		return r, false
	}
	r.Op, r.Xattr = protocol.OpRmxattr, name
	if strings.HasPrefix(call.Name, "l") {
		r.Flags = unix.AT_SYMLINK_NOFOLLOW
	}
	if strings.HasSuffix(call.Name, "setxattr") {
		size := call.Args[3]
		if size > 64<<10 { // XATTR_SIZE_MAX
			return r, false
		}
		r.Op, r.Data = protocol.OpSetxattr, make([]byte, size)
		r.Flags |= int(call.Args[4])
		if size > 0 && call.Read(call.Args[2], r.Data) != nil {
			return r, false
		}
	}
	return r, true
}

// callTimes reads the times a utimensat, utimes, futimesat or utime asks
// for, as atime s, ns, mtime s, ns (a NULL pointer: now, for both).
func callTimes(call *tracer.Call) ([]int64, bool) {
	arg := map[string]int{"utimensat": 2, "utimes": 1, "futimesat": 2, "utime": 1}[call.Name]
	ptr := call.Args[arg]
	if ptr == 0 {
		return []int64{0, unix.UTIME_NOW, 0, unix.UTIME_NOW}, true
	}
	size := 32 // two timespecs, or two timevals
	if call.Name == "utime" {
		size = 16 // struct utimbuf: actime, modtime
	}
	b := make([]byte, size)
	if call.Read(ptr, b) != nil {
		return nil, false
	}
	v := func(i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) }
	switch call.Name {
	case "utimensat":
		return []int64{v(0), v(1), v(2), v(3)}, true
	case "utime":
		return []int64{v(0), 0, v(1), 0}, true
	}
	return []int64{v(0), v(1) * 1000, v(2), v(3) * 1000}, true // timeval: microseconds
}

// openForWrite opens a remote file for writing: the pod opens (creates,
// truncates) it first, then the program writes the copy, which goes to the
// pod when the program closes it.
func (c *Cache) openForWrite(call *tracer.Call) tracer.Verdict {
	p := c.podPath(call.Path)
	req := protocol.Request{Op: protocol.OpOpen, Path: p, Flags: call.OpenFlag, Perm: openPerm(call)}
	go func() {
		c.write.flush()
		if c.lazy != nil {
			_ = c.lazy.resolve(c, p, true) // the bytes an O_APPEND or O_RDWR open keeps
		}
		if err := c.write.pod.Mutate(req); err != nil {
			call.Resume(tracer.Fail(errnoOf(err)))
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
		if err := c.write.watch(cp, p); err != nil {
			call.Resume(tracer.Fail(unix.EIO))
			return
		}
		call.Resume(tracer.ReplacePath(cp))
	}()
	return tracer.Hold()
}

// openPerm is the mode argument of an open that may create.
func openPerm(call *tracer.Call) uint32 {
	switch call.Name {
	case "open":
		return uint32(call.Args[2])
	case "openat":
		return uint32(call.Args[3])
	case "openat2":
		var how [16]byte // struct open_how: flags, mode, resolve
		if call.Read(call.Args[2], how[:]) == nil {
			return uint32(binary.LittleEndian.Uint64(how[8:]))
		}
	}
	return 0
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
		_ = os.Remove(cp)
	case protocol.OpRename:
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

// errnoOf is the pod's errno for a failed change (EIO when it has none).
func errnoOf(err error) unix.Errno {
	var re *session.RemoteError
	if errors.As(err, &re) && re.Errno != 0 {
		return re.Errno
	}
	return unix.EIO
}
