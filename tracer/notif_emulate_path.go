package tracer

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Path calls made for a notified program: on the verdict's path (the
// session's copy of a pod's file), or, for a verdict with exit work only,
// on the path as the program named it, resolved as the kernel resolves it
// for the program. Their results are written into the program's memory or
// their fd installed in it.

// target is the file a path call is made on here: a path, or (empty) the
// file an fd of ours names.
type target struct {
	dirfd int
	path  string
	empty bool // path is "": the call is about dirfd itself (AT_EMPTY_PATH)
}

// name is a path to the target for calls that take nothing but a path
// (and follow a final symlink).
func (t target) name() string {
	if t.empty {
		return "/proc/self/fd/" + strconv.Itoa(t.dirfd)
	}
	return t.path
}

// emptyFlag is AT_EMPTY_PATH for an fd's target.
func (t target) emptyFlag() int {
	if t.empty {
		return unix.AT_EMPTY_PATH
	}
	return 0
}

// emulatePath makes a path call on the verdict's replacement path, or on
// the call's own for exit work; ok is false for a call this engine cannot
// make for the program as the kernel would (chdir and the calls that
// change the file system, which the hybrid engine keeps on ptrace; a path
// through a /proc magic link, which names another file here).
func (c *Call) emulatePath(v Verdict) (notifyAnswer, bool) {
	if v.path == nil {
		return c.emulateOwn()
	}
	if *v.path == "" {
		return notifyAnswer{}, false
	}
	t := target{dirfd: unix.AT_FDCWD, path: *v.path}
	switch c.Syscall {
	case SysOpen, SysOpenat, SysOpenat2:
		how, ok := c.openHow()
		if !ok {
			return failed(unix.EFAULT), true
		}
		cloexec := how.Flags&unix.O_CLOEXEC != 0
		how.Flags |= unix.O_CLOEXEC
		var fd int
		var err error
		c.creating(int(how.Flags), func() {
			if c.Syscall == SysOpenat2 {
				fd, err = unix.Openat2(unix.AT_FDCWD, t.path, &how)
			} else { // open takes flags and a mode openat2 refuses
				fd, err = unix.Open(t.path, int(how.Flags), c.Change.Mode)
			}
		})
		return fdResult(fd, err, cloexec), true
	case SysStatfs, SysFstatfs:
		var st unix.Statfs_t
		if err := unix.Statfs(t.path, &st); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	}
	return c.emulateOn(t)
}

// emulateOwn makes the program's call on the path it named (exit work
// only): /proc/self made the program's, a relative path resolved from its
// dirfd or working directory, and no /proc magic link followed (an fd's
// link, the exe, cwd or root: they would name this process's files, so
// such a call runs as made, its exit work not done).
func (c *Call) emulateOwn() (notifyAnswer, bool) {
	switch c.Syscall {
	case SysOpen, SysOpenat, SysOpenat2:
		how, ok := c.openHow()
		if !ok {
			return failed(unix.EFAULT), true
		}
		cloexec := how.Flags&unix.O_CLOEXEC != 0
		how.Flags |= unix.O_CLOEXEC
		fd, err := c.openOwn(how)
		if unfaithful(err) {
			return notifyAnswer{}, false
		}
		return fdResult(fd, err, cloexec), true
	case SysFstatfs: // the program's own fd
		fd, err := c.dupFD(int(int32(c.arg(argFD))))
		if err != nil {
			return failed(err), true
		}
		defer unix.Close(fd)
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	case SysLgetxattr:
		return notifyAnswer{}, false // the link itself: not through an fd of ours
	case SysFstat, SysNewfstatat, SysStatx:
		if c.Syscall == SysFstat || (c.RawPath == "" && c.arg(argAtFlags)&unix.AT_EMPTY_PATH != 0) {
			return c.emulateOnFD()
		}
	}
	flags := uint64(unix.O_PATH | unix.O_CLOEXEC)
	if c.sys().noFollow || c.arg(argAtFlags)&unix.AT_SYMLINK_NOFOLLOW != 0 || c.Syscall == SysReadlink || c.Syscall == SysReadlinkat {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := c.openOwn(unix.OpenHow{Flags: flags})
	switch {
	case unfaithful(err):
		return notifyAnswer{}, false
	case err != nil:
		return failed(err), true
	}
	defer unix.Close(fd)
	if c.Syscall == SysStatfs {
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	}
	return c.emulateOn(target{dirfd: fd, empty: true})
}

// emulateOnFD makes a stat about the program's fd (fstat, or AT_EMPTY_PATH
// with no path: its dirfd, or its working directory) on the same open file.
func (c *Call) emulateOnFD() (notifyAnswer, bool) {
	var fd int
	var err error
	if c.Syscall == SysFstat {
		fd, err = c.dupFD(int(int32(c.arg(argFD))))
	} else {
		fd, err = c.ownDir()
	}
	if err != nil {
		return failed(err), true
	}
	defer unix.Close(fd)
	return c.emulateOn(target{dirfd: fd, empty: true})
}

// emulateOn makes the calls that read a file's metadata on t.
func (c *Call) emulateOn(t target) (notifyAnswer, bool) {
	noFollow := 0
	if c.sys().noFollow {
		noFollow = unix.AT_SYMLINK_NOFOLLOW
	}
	switch c.Syscall {
	case SysStat, SysLstat, SysNewfstatat, SysFstat:
		var st unix.Stat_t
		if err := unix.Fstatat(t.dirfd, t.path, &st, int(c.arg(argAtFlags))|noFollow|t.emptyFlag()); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	case SysStatx:
		var st unix.Statx_t
		if err := unix.Statx(t.dirfd, t.path, int(c.arg(argAtFlags))|t.emptyFlag(), int(c.arg(argStatxMask)), &st); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	case SysAccess, SysFaccessat, SysFaccessat2:
		return answerOf(0, faccessat2(t.dirfd, t.path, uint32(c.arg(argAccessMode)), int(c.arg(argAtFlags))|t.emptyFlag())), true
	case SysReadlink, SysReadlinkat:
		b := make([]byte, min(c.arg(argLen), maxCopy))
		n, err := unix.Readlinkat(t.dirfd, t.path, b)
		if err == unix.ENOENT && t.empty {
			// readlinkat(fd, "") of what is not a symlink says ENOENT; the
			// program's readlink of that path says EINVAL (realpath, and so
			// Java's start, tells the two apart).
			var st unix.Stat_t
			if unix.Fstat(t.dirfd, &st) == nil && st.Mode&unix.S_IFMT != unix.S_IFLNK {
				err = unix.EINVAL
			}
		}
		if err != nil {
			return failed(err), true
		}
		return c.wrote(n, c.write(c.arg(argBuf), b[:n])), true
	case SysGetxattr, SysLgetxattr:
		name, err := c.readString(argXattrName)
		if err != nil {
			return failed(unix.EFAULT), true
		}
		b := make([]byte, min(c.arg(argLen), 1<<16))
		get := unix.Getxattr
		if noFollow != 0 {
			get = unix.Lgetxattr
		}
		n, err := get(t.name(), name, b)
		if err != nil {
			return failed(err), true
		}
		return c.wrote(n, c.write(c.arg(argBuf), b[:min(n, len(b))])), true
	case SysInotifyAddWatch:
		fd, err := c.dupFD(int(int32(c.arg(argFD))))
		if err != nil {
			return failed(err), true
		}
		defer unix.Close(fd)
		return answerOf(unix.InotifyAddWatch(fd, t.name(), uint32(c.arg(argInotifyMask)))), true
	}
	return notifyAnswer{}, false
}

// openHow is the call's open flags and mode as openat2 takes them (a mode
// only where the open may create: openat2 refuses one elsewhere).
func (c *Call) openHow() (unix.OpenHow, bool) {
	how := unix.OpenHow{Flags: uint64(uint32(c.OpenFlag)), Mode: uint64(c.Change.Mode)}
	if c.Syscall == SysOpenat2 {
		if c.how == nil || c.arg(argHowSize) < 8 {
			return how, false
		}
		return *c.how, true
	}
	if !creates(int(how.Flags)) {
		how.Mode = 0
	}
	return how, true
}

// openOwn opens the path the program's call names, resolved as for the
// program (see emulateOwn), as how asks.
func (c *Call) openOwn(how unix.OpenHow) (int, error) {
	raw := c.RawPath
	dirfd := unix.AT_FDCWD
	if strings.HasPrefix(raw, "/") {
		raw = procSelf(raw, c.PID, c.TID)
	} else {
		d, err := c.ownDir()
		if err != nil {
			return -1, err
		}
		defer unix.Close(d)
		dirfd = d
	}
	how.Resolve |= unix.RESOLVE_NO_MAGICLINKS
	var fd int
	var err error
	c.creating(int(how.Flags), func() { fd, err = unix.Openat2(dirfd, raw, &how) })
	return fd, err
}

// unfaithful: openOwn could not resolve the path as the program's call
// would (a magic link refused, flags openat2 takes and open ignores): the
// call runs as the program made it.
func unfaithful(err error) bool {
	return err == unix.ELOOP || err == unix.EINVAL || err == unix.EXDEV || err == unix.EAGAIN
}

// procSelf makes /proc/self and /proc/thread-self in p the program's.
func procSelf(p string, pid, tid int) string {
	for _, s := range []struct{ name, to string }{
		{"/proc/self", "/proc/" + strconv.Itoa(pid)},
		{"/proc/thread-self", "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid)},
	} {
		if p == s.name || strings.HasPrefix(p, s.name+"/") {
			return s.to + p[len(s.name):]
		}
	}
	return p
}

// ownDir opens the directory the program's call is relative to: its dirfd
// (the same open file) or its working directory.
func (c *Call) ownDir() (int, error) {
	if fd := int32(c.arg(argDirfd)); c.sys().has(argDirfd) && fd != unix.AT_FDCWD {
		return c.dupFD(int(fd))
	}
	return unix.Open("/proc/"+strconv.Itoa(c.TID)+"/cwd", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// creating runs open, which may create a file (flags), under the
// program's umask (notif_umask.go).
func (c *Call) creating(flags int, open func()) {
	if !creates(flags) {
		open()
		return
	}
	withUmask(umaskOf(c.TID), open)
}

// ownPath is the path the program's call names, as a path here: /proc/self
// made the program's, a relative path continued from its dirfd or working
// directory through /proc.
func (c *Call) ownPath() string {
	raw := c.RawPath
	if raw == "" || strings.HasPrefix(raw, "/") {
		return procSelf(raw, c.PID, c.TID)
	}
	if fd := int32(c.arg(argDirfd)); c.sys().has(argDirfd) && fd != unix.AT_FDCWD {
		return "/proc/" + strconv.Itoa(c.PID) + "/fd/" + strconv.Itoa(int(fd)) + "/" + raw
	}
	return "/proc/" + strconv.Itoa(c.TID) + "/cwd/" + raw
}
