package tracer

import (
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Family groups the intercepted syscalls by what a handler decides about them.
type Family int

const (
	// FamilySocket: connect, bind, listen, sendto/sendmsg with an address,
	// recvfrom/recvmsg, getpeername, accept.
	FamilySocket Family = iota + 1
	// FamilyPath: open, openat, openat2, the stat family, access family, readlink.
	FamilyPath
)

// sysInfo says how to read one intercepted syscall's arguments.
type sysInfo struct {
	name   string
	family Family
	// socket calls
	addrArg    int  // sockaddr pointer argument, -1 if none
	addrLenArg int  // its length argument (a value, or a pointer when lenIsPtr)
	lenIsPtr   bool // result address: the length is a socklen_t* (getpeername, recvfrom)
	msghdrArg  int  // struct msghdr* argument, -1 if none (sendmsg, recvmsg)
	// path calls
	dirfdArg int // -1: relative to the cwd
	pathArg  int
	flagsArg int // open flags, -1 if none
}

// syscallList lists every syscall the filter stops. Numbers an architecture
// lacks are -1 and left out of syscallTable.
var syscallList = []struct {
	nr   int
	info sysInfo
}{
	{unix.SYS_CONNECT, sysInfo{name: "connect", family: FamilySocket, addrArg: 1, addrLenArg: 2, msghdrArg: -1}},
	{unix.SYS_BIND, sysInfo{name: "bind", family: FamilySocket, addrArg: 1, addrLenArg: 2, msghdrArg: -1}},
	{unix.SYS_LISTEN, sysInfo{name: "listen", family: FamilySocket, addrArg: -1, msghdrArg: -1}},
	{unix.SYS_SENDTO, sysInfo{name: "sendto", family: FamilySocket, addrArg: 4, addrLenArg: 5, msghdrArg: -1}},
	{unix.SYS_SENDMSG, sysInfo{name: "sendmsg", family: FamilySocket, addrArg: -1, msghdrArg: 1}},
	{unix.SYS_RECVFROM, sysInfo{name: "recvfrom", family: FamilySocket, addrArg: 4, addrLenArg: 5, lenIsPtr: true, msghdrArg: -1}},
	{unix.SYS_RECVMSG, sysInfo{name: "recvmsg", family: FamilySocket, addrArg: -1, msghdrArg: 1}},
	{unix.SYS_GETPEERNAME, sysInfo{name: "getpeername", family: FamilySocket, addrArg: 1, addrLenArg: 2, lenIsPtr: true, msghdrArg: -1}},
	// accept: the peer of a connection handed over from the pod is shown as
	// the pod's client.
	{sysAccept, sysInfo{name: "accept", family: FamilySocket, addrArg: 1, addrLenArg: 2, lenIsPtr: true, msghdrArg: -1}},
	{unix.SYS_ACCEPT4, sysInfo{name: "accept4", family: FamilySocket, addrArg: 1, addrLenArg: 2, lenIsPtr: true, msghdrArg: -1}},
	{sysOpen, sysInfo{name: "open", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: 1}},
	{unix.SYS_OPENAT, sysInfo{name: "openat", family: FamilyPath, dirfdArg: 0, pathArg: 1, flagsArg: 2}},
	{unix.SYS_OPENAT2, sysInfo{name: "openat2", family: FamilyPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{sysStat, sysInfo{name: "stat", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{sysLstat, sysInfo{name: "lstat", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_NEWFSTATAT, sysInfo{name: "newfstatat", family: FamilyPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{unix.SYS_STATX, sysInfo{name: "statx", family: FamilyPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{sysAccess, sysInfo{name: "access", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_FACCESSAT, sysInfo{name: "faccessat", family: FamilyPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{unix.SYS_FACCESSAT2, sysInfo{name: "faccessat2", family: FamilyPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{sysReadlink, sysInfo{name: "readlink", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_READLINKAT, sysInfo{name: "readlinkat", family: FamilyPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{unix.SYS_GETXATTR, sysInfo{name: "getxattr", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_LGETXATTR, sysInfo{name: "lgetxattr", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_CHDIR, sysInfo{name: "chdir", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_STATFS, sysInfo{name: "statfs", family: FamilyPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_INOTIFY_ADD_WATCH, sysInfo{name: "inotify_add_watch", family: FamilyPath, dirfdArg: -1, pathArg: 1, flagsArg: -1}},
}

// syscallTable indexes syscallList by number.
var syscallTable = func() map[int]sysInfo {
	m := make(map[int]sysInfo, len(syscallList))
	for _, s := range syscallList {
		if s.nr >= 0 {
			m[s.nr] = s.info
		}
	}
	return m
}()

// tracedIfSet: stop these only when their argument check holds.
var tracedIfSet = map[uint32]argCheck{
	unix.SYS_SENDTO:     {Arg: 4},
	unix.SYS_RECVFROM:   {Arg: 4},
	unix.SYS_NEWFSTATAT: {Arg: 3, ClearBit: unix.AT_EMPTY_PATH},
	unix.SYS_STATX:      {Arg: 2, ClearBit: unix.AT_EMPTY_PATH},
}

// filterLists splits the table into the filter's two lists.
func filterLists() (always []uint32, tracedIf map[uint32]argCheck) {
	for nr := range syscallTable {
		if _, ok := tracedIfSet[uint32(nr)]; !ok {
			always = append(always, uint32(nr))
		}
	}
	slices.Sort(always)
	return always, tracedIfSet
}

// SyscallName names a syscall number for logs and the trace command.
func SyscallName(nr uint64) string {
	if info, ok := syscallTable[int(nr)]; ok {
		return info.name
	}
	return "syscall_" + strconv.FormatUint(nr, 10)
}
