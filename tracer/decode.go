package tracer

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// msghdr layout on 64-bit Linux: msg_name at 0, msg_namelen (u32) at 8.
const sizeofMsghdr = 56

// decodeCall reads what a handler needs to know about syscall nr of thread
// tid (of process pid) with args, for either engine, which then sets
// Call.stop; page is scratch for reading paths. ok is false when the
// arguments cannot be read: the syscall then runs unchanged and fails as it
// would have.
func decodeCall(pid, tid int, nr uint64, args [6]uint64, page []byte) (*Call, bool) {
	s, known := sysnoOf[nr]
	if !known {
		return nil, false
	}
	info := &syscalls[s]
	c := &Call{PID: pid, TID: tid, Syscall: s, Class: info.class, nr: nr, args: args}
	switch info.class {
	case ClassPath:
		return c, decodePath(c, info, page)
	case ClassIdentity:
		return c, true
	}
	c.FD = int(int32(c.arg(argFD)))
	switch {
	case info.has(argMsg), info.has(argMsgOut):
		return c, decodeMsghdr(c, info)
	case info.has(argAddrOut):
		c.outAddr = taddr(c.arg(argAddrOut))
		var lb [4]byte
		if c.outAddr != 0 && readMem(tid, taddr(c.arg(argAddrLenOut)), lb[:]) == nil {
			c.outAddrCap = int(binary.LittleEndian.Uint32(lb[:]))
		}
	case info.has(argAddr):
		c.Addr, c.SockFamily, c.HasAddr = readSockaddr(tid, taddr(c.arg(argAddr)), c.arg(argAddrLen))
	}
	return c, true
}

func readSockaddr(tid int, ptr taddr, size uint64) (netip.AddrPort, uint16, bool) {
	if ptr == 0 || size < 2 || size > 128 {
		return netip.AddrPort{}, 0, false
	}
	b := make([]byte, size)
	if readMem(tid, taddr(ptr), b) != nil {
		return netip.AddrPort{}, 0, false
	}
	ap, fam, ok := decodeSockaddr(b)
	return ap, fam, ok
}

// decodeMsghdr reads sendmsg's destination, or where recvmsg puts the source.
func decodeMsghdr(c *Call, info *sysInfo) bool {
	var mh [sizeofMsghdr]byte
	if readMem(c.TID, taddr(c.msghdr()), mh[:]) != nil {
		return true // the kernel reports EFAULT itself
	}
	name := binary.LittleEndian.Uint64(mh[0:])
	nameLen := uint64(binary.LittleEndian.Uint32(mh[8:]))
	if info.has(argMsgOut) {
		c.outAddr, c.outAddrCap = taddr(name), int(nameLen)
		return true
	}
	c.Addr, c.SockFamily, c.HasAddr = readSockaddr(c.TID, taddr(name), nameLen)
	return true
}

// msghdr is where the call's struct msghdr is (sendmsg, recvmsg).
func (c *Call) msghdr() uint64 { return c.arg(argMsg) | c.arg(argMsgOut) }

// decodePath reads the path argument and makes it absolute the way the kernel
// will: against the dirfd, or the thread's working directory.
func decodePath(c *Call, info *sysInfo, page []byte) bool {
	if info.fdPath() {
		c.Path = fdFile(c, int32(c.arg(argFD)))
		return true
	}
	raw, err := readCString(c.TID, taddr(c.arg(argPath)), page)
	if err != nil {
		return false
	}
	c.RawPath = raw
	c.Mutates = info.mutates
	if info.has(argPath2) {
		if raw2, err := readCString(c.TID, taddr(c.arg(argPath2)), page); err == nil && raw2 != "" {
			c.Path2 = c.absolute(raw2, argDirfd2)
		}
	}
	switch {
	case info.has(argOpenFlags):
		c.OpenFlag = int(c.arg(argOpenFlags))
		c.Change.Mode = uint32(c.arg(argMode))
	case info.has(argHow):
		if c.how = readOpenHow(c); c.how != nil {
			c.OpenFlag, c.Change.Mode = int(c.how.Flags), uint32(c.how.Mode)
		}
	case info.mutates:
		decodeChange(c, info, page)
	}
	if raw == "" {
		// AT_EMPTY_PATH and friends: about an fd, not a path. A stat of
		// one names the fd's file in Path, as fstat does.
		if (c.Syscall == SysNewfstatat || c.Syscall == SysStatx) && c.arg(argAtFlags)&unix.AT_EMPTY_PATH != 0 {
			c.Path = fdFile(c, int32(c.arg(argDirfd)))
		}
		return true
	}
	c.Path = c.absolute(raw, argDirfd)
	return true
}

// fdFile is the file the program's fd names (its working directory for
// AT_FDCWD), "" when that is not a path (a socket, a pipe).
func fdFile(c *Call, fd int32) string {
	link := "/proc/" + strconv.Itoa(c.PID) + "/fd/" + strconv.Itoa(int(fd))
	if fd == unix.AT_FDCWD {
		link = "/proc/" + strconv.Itoa(c.TID) + "/cwd"
	}
	p, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(p, "/") {
		return ""
	}
	return p
}

// sizeofOpenHow is struct open_how's size (flags, mode, resolve), all
// that this package reads of it.
const sizeofOpenHow = 24

// readOpenHow reads openat2's struct open_how (its size says how much of
// it there is, at least its flags); nil when it cannot be read.
func readOpenHow(c *Call) *unix.OpenHow {
	b := make([]byte, sizeofOpenHow)
	n := min(max(c.arg(argHowSize), 8), sizeofOpenHow)
	if readMem(c.TID, taddr(c.arg(argHow)), b[:n]) != nil {
		return nil
	}
	le := binary.LittleEndian
	return &unix.OpenHow{Flags: le.Uint64(b[0:]), Mode: le.Uint64(b[8:]), Resolve: le.Uint64(b[16:])}
}

// maxXattrValue is XATTR_SIZE_MAX: the largest value setxattr takes.
const maxXattrValue = 64 << 10

// decodeChange reads what a call that changes the file system asks for
// into c.Change.
func decodeChange(c *Call, info *sysInfo, page []byte) {
	ch := &c.Change
	ch.Mode = uint32(c.arg(argMode))
	ch.Dev = c.arg(argDev)
	ch.Size = int64(c.arg(argLength))
	if info.has(argUID) {
		ch.UID, ch.GID = int(int32(c.arg(argUID))), int(int32(c.arg(argGID)))
	}
	ch.RemoveDir = c.arg(argUnlinkFlags)&unix.AT_REMOVEDIR != 0
	ch.RenameFlags = int(c.arg(argRenameFlags))
	ch.NoFollow = info.noFollow || c.arg(argAtFlags)&unix.AT_SYMLINK_NOFOLLOW != 0
	var err error
	switch {
	case info.has(argTimespecs), info.has(argTimevals), info.has(argUtimbuf):
		ch.Times, err = readTimes(c, info)
	case info.has(argLinkTarget):
		ch.LinkTarget, err = readCString(c.TID, taddr(c.arg(argLinkTarget)), page)
	case info.has(argXattrName):
		err = readXattr(c, info, page)
	}
	ch.Unread = err != nil
}

// readTimes reads the times a utimensat (timespecs), utimes or futimesat
// (timevals) or utime (a utimbuf: seconds) asks for, as timespecs.
func readTimes(c *Call, info *sysInfo) ([2]unix.Timespec, error) {
	ptr, size := c.arg(argTimespecs)|c.arg(argTimevals), 32 // two timespecs, or two timevals
	if info.has(argUtimbuf) {
		ptr, size = c.arg(argUtimbuf), 16 // actime, modtime
	}
	if ptr == 0 {
		return [2]unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}, nil
	}
	b := make([]byte, size)
	if err := readMem(c.TID, taddr(ptr), b); err != nil {
		return [2]unix.Timespec{}, err
	}
	v := func(i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) }
	switch {
	case info.has(argUtimbuf):
		return [2]unix.Timespec{{Sec: v(0)}, {Sec: v(1)}}, nil
	case info.has(argTimevals): // microseconds
		return [2]unix.Timespec{{Sec: v(0), Nsec: v(1) * 1000}, {Sec: v(2), Nsec: v(3) * 1000}}, nil
	}
	return [2]unix.Timespec{{Sec: v(0), Nsec: v(1)}, {Sec: v(2), Nsec: v(3)}}, nil
}

// readXattr reads the name of the attribute a setxattr or removexattr
// changes, and the value a setxattr gives it.
func readXattr(c *Call, info *sysInfo, page []byte) error {
	ch := &c.Change
	name, err := readCString(c.TID, taddr(c.arg(argXattrName)), page)
	if err != nil {
		return err
	}
	ch.Xattr = name
	if !info.has(argBuf) { // removexattr
		return nil
	}
	size := c.arg(argLen)
	if size > maxXattrValue {
		return unix.E2BIG
	}
	ch.XattrFlags = int(c.arg(argXattrFlags))
	ch.XattrValue = make([]byte, size)
	if size > 0 {
		return readMem(c.TID, taddr(c.arg(argBuf)), ch.XattrValue)
	}
	return nil
}

// absolute makes raw absolute the way the kernel will: against the dirfd
// argument of role dirfd (none: the cwd), or the thread's working
// directory. It is "" when that directory cannot be read.
func (c *Call) absolute(raw string, dirfd argRole) string {
	if strings.HasPrefix(raw, "/") {
		return filepath.Clean(raw)
	}
	base := "/proc/" + strconv.Itoa(c.TID) + "/cwd"
	if c.sys().has(dirfd) {
		if fd := int32(c.arg(dirfd)); fd != unix.AT_FDCWD {
			base = "/proc/" + strconv.Itoa(c.PID) + "/fd/" + strconv.Itoa(int(fd))
		}
	}
	dir, err := os.Readlink(base)
	if err != nil {
		return ""
	}
	return filepath.Join(dir, raw)
}
