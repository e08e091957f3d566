package tracer

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

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
	a := c.Args
	switch c.Name {
	case "open", "openat":
		flags, mode := a[1], a[2]
		if c.Name == "openat" {
			flags, mode = a[2], a[3]
		}
		fd, err := unix.Open(path, int(flags)|unix.O_CLOEXEC, uint32(mode))
		return fdResult(fd, err, int(flags)&unix.O_CLOEXEC != 0), true
	case "openat2":
		var raw []byte
		if err := c.read(a[2], int(min(a[3], 24)), &raw); err != nil || len(raw) < 8 {
			return failed(unix.EFAULT), true
		}
		raw = append(raw, make([]byte, 24-len(raw))...)
		le := binary.LittleEndian
		how := unix.OpenHow{Flags: le.Uint64(raw[0:]), Mode: le.Uint64(raw[8:]), Resolve: le.Uint64(raw[16:])}
		cloexec := how.Flags&unix.O_CLOEXEC != 0
		how.Flags |= unix.O_CLOEXEC
		fd, err := unix.Openat2(unix.AT_FDCWD, path, &how)
		return fdResult(fd, err, cloexec), true
	case "stat", "lstat", "newfstatat":
		flags, buf := 0, a[1]
		switch c.Name {
		case "lstat":
			flags = unix.AT_SYMLINK_NOFOLLOW
		case "newfstatat":
			flags, buf = int(a[3]), a[2]
		}
		var st unix.Stat_t
		if err := unix.Fstatat(unix.AT_FDCWD, path, &st, flags); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(buf, structBytes(&st))), true
	case "statx":
		var st unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, path, int(a[2]), int(a[3]), &st); err != nil {
			return failed(err), true
		}
		return c.wrote(0, c.write(a[4], structBytes(&st))), true
	case "access", "faccessat", "faccessat2":
		mode, flags := a[2], uint64(0)
		switch c.Name {
		case "access":
			mode = a[1]
		case "faccessat2":
			flags = a[3]
		}
		return answerOf(0, faccessat2(path, uint32(mode), int(flags))), true
	case "readlink", "readlinkat":
		buf, size := a[1], a[2]
		if c.Name == "readlinkat" {
			buf, size = a[2], a[3]
		}
		b := make([]byte, min(size, maxCopy))
		n, err := unix.Readlink(path, b)
		if err != nil {
			return failed(err), true
		}
		return c.wrote(n, c.write(buf, b[:n])), true
	case "getxattr", "lgetxattr":
		name, err := c.String(1)
		if err != nil {
			return failed(unix.EFAULT), true
		}
		b := make([]byte, min(a[3], 1<<16))
		get := unix.Getxattr
		if c.Name == "lgetxattr" {
			get = unix.Lgetxattr
		}
		n, err := get(path, name, b)
		if err != nil {
			return failed(err), true
		}
		return c.wrote(n, c.write(a[2], b[:min(n, len(b))])), true
	case "statfs", "fstatfs":
		var st unix.Statfs_t
		var err error
		if c.Name == "fstatfs" && v.path == nil { // exit work only: the program's own fd
			fd, derr := c.dupFD(int(int32(a[0])))
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
		return c.wrote(0, c.write(a[1], structBytes(&st))), true
	case "inotify_add_watch":
		fd, err := c.dupFD(int(int32(a[0])))
		if err != nil {
			return failed(err), true
		}
		defer unix.Close(fd)
		return answerOf(unix.InotifyAddWatch(fd, path, uint32(a[2]))), true
	}
	return notifyAnswer{}, false
}
