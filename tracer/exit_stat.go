package tracer

import "golang.org/x/sys/unix"

// FileStat is what the stat family reports of a file, whichever struct the
// call fills (struct stat or struct statx).
type FileStat struct {
	Dev, Ino, Nlink, Rdev uint64
	Mode, UID, GID        uint32 // Mode: st_mode, the type and permission bits
	Size, Blksize, Blocks int64
	Atime, Mtime, Ctime   unix.Timespec
}

// IsStat: s is one of the stat family, which Exit.Stat reads and
// Exit.SetStat rewrites (stat, lstat, fstat, newfstatat, statx).
func (s Sysno) IsStat() bool {
	switch s {
	case SysStat, SysLstat, SysFstat, SysNewfstatat, SysStatx:
		return true
	}
	return false
}

// isStat: the call fills a struct stat (stat, lstat, fstat, newfstatat).
func (c *Call) isStat() bool {
	switch c.Syscall {
	case SysStat, SysLstat, SysFstat, SysNewfstatat:
		return true
	}
	return false
}

// Stat reads what a successful stat, lstat, fstat, newfstatat or statx wrote.
func (e *Exit) Stat() (FileStat, bool) {
	addr := taddr(e.Call.arg(argStructOut))
	switch {
	case e.Result != 0:
	case e.Call.isStat():
		var st unix.Stat_t
		if readMem(e.Call.TID, addr, structBytes(&st)) == nil {
			return FileStat{Dev: st.Dev, Ino: st.Ino, Nlink: uint64(st.Nlink), Rdev: st.Rdev, Mode: st.Mode,
				UID: st.Uid, GID: st.Gid, Size: st.Size, Blksize: int64(st.Blksize), Blocks: st.Blocks,
				Atime: st.Atim, Mtime: st.Mtim, Ctime: st.Ctim}, true
		}
	case e.Call.Syscall == SysStatx:
		var st unix.Statx_t
		if readMem(e.Call.TID, addr, structBytes(&st)) == nil {
			return FileStat{Dev: unix.Mkdev(st.Dev_major, st.Dev_minor), Ino: st.Ino, Nlink: uint64(st.Nlink),
				Rdev: unix.Mkdev(st.Rdev_major, st.Rdev_minor), Mode: uint32(st.Mode), UID: st.Uid, GID: st.Gid,
				Size: int64(st.Size), Blksize: int64(st.Blksize), Blocks: int64(st.Blocks),
				Atime: statxTime(st.Atime), Mtime: statxTime(st.Mtime), Ctime: statxTime(st.Ctime)}, true
		}
	}
	return FileStat{}, false
}

// SetStat replaces what a successful stat-family call wrote with fs. A
// statx gets only the fields its mask says the kernel filled.
func (e *Exit) SetStat(fs FileStat) bool {
	addr := taddr(e.Call.arg(argStructOut))
	switch {
	case e.Result != 0:
	case e.Call.isStat():
		var st unix.Stat_t
		if readMem(e.Call.TID, addr, structBytes(&st)) != nil {
			return false
		}
		st.Dev, st.Ino, st.Rdev, st.Mode, st.Uid, st.Gid = fs.Dev, fs.Ino, fs.Rdev, fs.Mode, fs.UID, fs.GID
		setInt(&st.Nlink, fs.Nlink) // its width differs between architectures
		setInt(&st.Blksize, fs.Blksize)
		st.Size, st.Blocks, st.Atim, st.Mtim, st.Ctim = fs.Size, fs.Blocks, fs.Atime, fs.Mtime, fs.Ctime
		return writeMem(e.Call.TID, addr, structBytes(&st)) == nil
	case e.Call.Syscall == SysStatx:
		var st unix.Statx_t
		if readMem(e.Call.TID, addr, structBytes(&st)) != nil {
			return false
		}
		setStatx(&st, fs)
		return writeMem(e.Call.TID, addr, structBytes(&st)) == nil
	}
	return false
}

// setStatx sets the fields of st that st.Mask says are filled.
func setStatx(st *unix.Statx_t, fs FileStat) {
	has := func(bit uint32) bool { return st.Mask&bit != 0 }
	st.Dev_major, st.Dev_minor = unix.Major(fs.Dev), unix.Minor(fs.Dev)
	st.Rdev_major, st.Rdev_minor = unix.Major(fs.Rdev), unix.Minor(fs.Rdev)
	st.Blksize = uint32(fs.Blksize)
	if has(unix.STATX_TYPE) || has(unix.STATX_MODE) {
		st.Mode = uint16(fs.Mode)
	}
	if has(unix.STATX_NLINK) {
		st.Nlink = uint32(fs.Nlink)
	}
	if has(unix.STATX_UID) {
		st.Uid = fs.UID
	}
	if has(unix.STATX_GID) {
		st.Gid = fs.GID
	}
	if has(unix.STATX_INO) {
		st.Ino = fs.Ino
	}
	if has(unix.STATX_SIZE) {
		st.Size = uint64(fs.Size)
	}
	if has(unix.STATX_BLOCKS) {
		st.Blocks = uint64(fs.Blocks)
	}
	if has(unix.STATX_ATIME) {
		st.Atime = unix.StatxTimestamp{Sec: fs.Atime.Sec, Nsec: uint32(fs.Atime.Nsec)}
	}
	if has(unix.STATX_MTIME) {
		st.Mtime = unix.StatxTimestamp{Sec: fs.Mtime.Sec, Nsec: uint32(fs.Mtime.Nsec)}
	}
	if has(unix.STATX_CTIME) {
		st.Ctime = unix.StatxTimestamp{Sec: fs.Ctime.Sec, Nsec: uint32(fs.Ctime.Nsec)}
	}
}

func statxTime(t unix.StatxTimestamp) unix.Timespec {
	return unix.Timespec{Sec: t.Sec, Nsec: int64(t.Nsec)}
}

// setInt stores v in an integer field whose width is the architecture's.
func setInt[T ~int32 | ~int64 | ~uint32 | ~uint64, V int64 | uint64](p *T, v V) { *p = T(v) }
