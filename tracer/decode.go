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
	info, known := syscallTable[int(nr)]
	if !known {
		return nil, false
	}
	c := &Call{PID: pid, TID: tid, Name: info.name, Nr: nr, Args: args, Class: info.class}
	switch info.class {
	case ClassPath:
		return c, decodePath(c, info, page)
	case ClassIdentity:
		return c, true
	}
	c.FD = int(int32(c.Args[0]))
	switch {
	case info.msghdrArg >= 0:
		return c, decodeMsghdr(c, info)
	case info.addrArg >= 0 && info.lenIsPtr:
		c.outAddr = taddr(c.Args[info.addrArg])
		var lb [4]byte
		if c.outAddr != 0 && readMem(tid, taddr(c.Args[info.addrLenArg]), lb[:]) == nil {
			c.outAddrCap = int(binary.LittleEndian.Uint32(lb[:]))
		}
	case info.addrArg >= 0:
		c.Addr, c.SockFamily, c.HasAddr = readSockaddr(tid, taddr(c.Args[info.addrArg]), c.Args[info.addrLenArg])
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
func decodeMsghdr(c *Call, info sysInfo) bool {
	var mh [sizeofMsghdr]byte
	if readMem(c.TID, taddr(c.Args[info.msghdrArg]), mh[:]) != nil {
		return true // the kernel reports EFAULT itself
	}
	name := binary.LittleEndian.Uint64(mh[0:])
	nameLen := uint64(binary.LittleEndian.Uint32(mh[8:]))
	if c.Name == "recvmsg" {
		c.outAddr, c.outAddrCap = taddr(name), int(nameLen)
		return true
	}
	c.Addr, c.SockFamily, c.HasAddr = readSockaddr(c.TID, taddr(name), nameLen)
	return true
}

// decodePath reads the path argument and makes it absolute the way the kernel
// will: against the dirfd, or the thread's working directory.
func decodePath(c *Call, info sysInfo, page []byte) bool {
	if info.fdPath {
		p, err := os.Readlink("/proc/" + strconv.Itoa(c.PID) + "/fd/" + strconv.Itoa(int(int32(c.Args[0]))))
		if err == nil && strings.HasPrefix(p, "/") {
			c.Path = p
		}
		return true
	}
	raw, err := readCString(c.TID, taddr(c.Args[info.pathArg]), page)
	if err != nil {
		return false
	}
	c.RawPath = raw
	c.Mutates = info.mutates
	if info.twoPaths {
		if raw2, err := readCString(c.TID, taddr(c.Args[info.path2Arg]), page); err == nil && raw2 != "" {
			c.Path2 = c.absolute(raw2, info.dirfd2Arg)
		}
	}
	if info.flagsArg >= 0 {
		c.OpenFlag = int(c.Args[info.flagsArg])
	} else if c.Name == "openat2" {
		var how [8]byte // struct open_how starts with the flags
		if readMem(c.TID, taddr(c.Args[2]), how[:]) == nil {
			c.OpenFlag = int(binary.LittleEndian.Uint64(how[:]))
		}
	}
	if raw == "" {
		return true // AT_EMPTY_PATH and friends: about an fd, not a path
	}
	c.Path = c.absolute(raw, info.dirfdArg)
	return true
}

// absolute makes raw absolute the way the kernel will: against the dirfd in
// argument dirfdArg (-1: none), or the thread's working directory. It is ""
// when that directory cannot be read.
func (c *Call) absolute(raw string, dirfdArg int) string {
	if strings.HasPrefix(raw, "/") {
		return filepath.Clean(raw)
	}
	base := "/proc/" + strconv.Itoa(c.TID) + "/cwd"
	if dirfdArg >= 0 {
		if dirfd := int32(c.Args[dirfdArg]); dirfd != unix.AT_FDCWD {
			base = "/proc/" + strconv.Itoa(c.PID) + "/fd/" + strconv.Itoa(int(dirfd))
		}
	}
	dir, err := os.Readlink(base)
	if err != nil {
		return ""
	}
	return filepath.Join(dir, raw)
}
