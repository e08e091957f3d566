package tracer

import "golang.org/x/sys/unix"

// Path calls made for a notified program on the verdict's path (the
// session's copy of a pod's file), their results written into the
// program's memory or their fd installed in it.

// emulatePath makes a path call on path (the verdict's replacement, or the
// call's own for exit work); ok is false for a call this engine cannot
// make for the program (chdir, the calls that change the file system).
func (c *Call) emulatePath(v Verdict) (notifyAnswer, bool) {
	path := c.Path
	if v.path != nil {
		path = *v.path
	}
	if path == "" {
		return notifyAnswer{}, false
	}
	noFollow := 0
	if c.sys().noFollow {
		noFollow = unix.AT_SYMLINK_NOFOLLOW
	}
	switch c.Syscall {
	case SysOpen, SysOpenat:
		fd, err := unix.Open(path, c.OpenFlag|unix.O_CLOEXEC, c.Change.Mode)
		return fdResult(fd, err, c.OpenFlag&unix.O_CLOEXEC != 0), true
	case SysOpenat2:
		if c.how == nil || c.arg(argHowSize) < 8 {
			return failed(unix.EFAULT), true
		}
		how := *c.how
		cloexec := how.Flags&unix.O_CLOEXEC != 0
		how.Flags |= unix.O_CLOEXEC
		fd, err := unix.Openat2(unix.AT_FDCWD, path, &how)
		return fdResult(fd, err, cloexec), true
	case SysStat, SysLstat, SysNewfstatat:
		var st unix.Stat_t
		if err := unix.Fstatat(unix.AT_FDCWD, path, &st, int(c.arg(argAtFlags))|noFollow); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	case SysStatx:
		var st unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, path, int(c.arg(argAtFlags)), int(c.arg(argStatxMask)), &st); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	case SysAccess, SysFaccessat, SysFaccessat2:
		return answerOf(0, faccessat2(path, uint32(c.arg(argAccessMode)), int(c.arg(argAtFlags)))), true
	case SysReadlink, SysReadlinkat:
		b := make([]byte, min(c.arg(argLen), maxCopy))
		n, err := unix.Readlink(path, b)
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
		n, err := get(path, name, b)
		if err != nil {
			return failed(err), true
		}
		return c.wrote(n, c.write(c.arg(argBuf), b[:min(n, len(b))])), true
	case SysStatfs, SysFstatfs:
		var st unix.Statfs_t
		var err error
		if c.Syscall == SysFstatfs && v.path == nil { // exit work only: the program's own fd
			fd, derr := c.dupFD(int(int32(c.arg(argFD))))
			if derr != nil {
				return failed(derr), true
			}
			err = unix.Fstatfs(fd, &st)
			unix.Close(fd)
		} else {
			err = unix.Statfs(path, &st)
		}
		if err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(c.arg(argStructOut), structBytes(&st))), true
	case SysInotifyAddWatch:
		fd, err := c.dupFD(int(int32(c.arg(argFD))))
		if err != nil {
			return failed(err), true
		}
		defer unix.Close(fd)
		return answerOf(unix.InotifyAddWatch(fd, path, uint32(c.arg(argInotifyMask)))), true
	}
	return notifyAnswer{}, false
}
