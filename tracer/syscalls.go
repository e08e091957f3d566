package tracer

import (
	"slices"
	"strconv"

	"golang.org/x/sys/unix"
)

// Class groups the intercepted syscalls by what a handler decides about them.
type Class int

const (
	// ClassSocket: connect, bind, listen, sendto/sendmsg with an address,
	// recvfrom/recvmsg, getpeername, getsockname, accept.
	ClassSocket Class = iota + 1
	// ClassPath: open, openat, openat2, the stat family, access family, readlink.
	ClassPath
	// ClassIdentity: uname. The tracer answers it itself from
	// Config.Hostname; handlers never see it.
	ClassIdentity
)

// sysInfo says how to read one intercepted syscall's arguments.
type sysInfo struct {
	name  string
	class Class
	// socket calls
	addrArg    int  // sockaddr pointer argument, -1 if none
	addrLenArg int  // its length argument (a value, or a pointer when lenIsPtr)
	lenIsPtr   bool // result address: the length is a socklen_t* (getpeername, recvfrom)
	msghdrArg  int  // struct msghdr* argument, -1 if none (sendmsg, recvmsg)
	// path calls
	dirfdArg int // -1: relative to the cwd
	pathArg  int
	flagsArg int // open flags, -1 if none
	// fdPath: the call names a file by the fd in argument 0, not by a path.
	fdPath bool
	// mutates: the call changes the file system at its path (or paths).
	mutates bool
	// twoPaths: a second path the call changes (rename, link), at
	// path2Arg relative to dirfd2Arg (-1: the cwd).
	twoPaths  bool
	dirfd2Arg int
	path2Arg  int
}

// syscallList lists every syscall the filter stops. Numbers an architecture
// lacks are -1 and left out of syscallTable.
var syscallList = []struct {
	nr   int
	info sysInfo
}{
	{unix.SYS_CONNECT, sysInfo{name: "connect", class: ClassSocket, addrArg: 1, addrLenArg: 2, msghdrArg: -1}},
	{unix.SYS_BIND, sysInfo{name: "bind", class: ClassSocket, addrArg: 1, addrLenArg: 2, msghdrArg: -1}},
	{unix.SYS_LISTEN, sysInfo{name: "listen", class: ClassSocket, addrArg: -1, msghdrArg: -1}},
	{unix.SYS_SENDTO, sysInfo{name: "sendto", class: ClassSocket, addrArg: 4, addrLenArg: 5, msghdrArg: -1}},
	{unix.SYS_SENDMSG, sysInfo{name: "sendmsg", class: ClassSocket, addrArg: -1, msghdrArg: 1}},
	{unix.SYS_RECVFROM, sysInfo{name: "recvfrom", class: ClassSocket, addrArg: 4, addrLenArg: 5, lenIsPtr: true, msghdrArg: -1}},
	{unix.SYS_RECVMSG, sysInfo{name: "recvmsg", class: ClassSocket, addrArg: -1, msghdrArg: 1}},
	{unix.SYS_GETPEERNAME, sysInfo{name: "getpeername", class: ClassSocket, addrArg: 1, addrLenArg: 2, lenIsPtr: true, msghdrArg: -1}},
	{unix.SYS_GETSOCKNAME, sysInfo{name: "getsockname", class: ClassSocket, addrArg: 1, addrLenArg: 2, lenIsPtr: true, msghdrArg: -1}},
	// getsockopt(SOL_SOCKET, SO_ERROR) only: how a program learns how a
	// non-blocking connect ended.
	{unix.SYS_GETSOCKOPT, sysInfo{name: "getsockopt", class: ClassSocket, addrArg: -1, msghdrArg: -1}},
	// accept: the peer of a connection handed over from the pod is shown as
	// the pod's client.
	{sysAccept, sysInfo{name: "accept", class: ClassSocket, addrArg: 1, addrLenArg: 2, lenIsPtr: true, msghdrArg: -1}},
	{unix.SYS_ACCEPT4, sysInfo{name: "accept4", class: ClassSocket, addrArg: 1, addrLenArg: 2, lenIsPtr: true, msghdrArg: -1}},
	{sysOpen, sysInfo{name: "open", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: 1}},
	{unix.SYS_OPENAT, sysInfo{name: "openat", class: ClassPath, dirfdArg: 0, pathArg: 1, flagsArg: 2}},
	{unix.SYS_OPENAT2, sysInfo{name: "openat2", class: ClassPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{sysStat, sysInfo{name: "stat", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{sysLstat, sysInfo{name: "lstat", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_NEWFSTATAT, sysInfo{name: "newfstatat", class: ClassPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{unix.SYS_STATX, sysInfo{name: "statx", class: ClassPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{sysAccess, sysInfo{name: "access", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_FACCESSAT, sysInfo{name: "faccessat", class: ClassPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{unix.SYS_FACCESSAT2, sysInfo{name: "faccessat2", class: ClassPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{sysReadlink, sysInfo{name: "readlink", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_READLINKAT, sysInfo{name: "readlinkat", class: ClassPath, dirfdArg: 0, pathArg: 1, flagsArg: -1}},
	{unix.SYS_GETXATTR, sysInfo{name: "getxattr", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_LGETXATTR, sysInfo{name: "lgetxattr", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_CHDIR, sysInfo{name: "chdir", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	{unix.SYS_STATFS, sysInfo{name: "statfs", class: ClassPath, dirfdArg: -1, pathArg: 0, flagsArg: -1}},
	// fstatfs: about an fd; Call.Path is the file the fd names.
	{unix.SYS_FSTATFS, sysInfo{name: "fstatfs", class: ClassPath, fdPath: true, dirfdArg: -1, flagsArg: -1}},
	{unix.SYS_UNAME, sysInfo{name: "uname", class: ClassIdentity}},
	{unix.SYS_INOTIFY_ADD_WATCH, sysInfo{name: "inotify_add_watch", class: ClassPath, dirfdArg: -1, pathArg: 1, flagsArg: -1}},
	// Calls that change the file system: decided too, so that nothing a
	// remote path names is changed here (see Call.Mutates).
	{sysMkdir, mutation("mkdir", -1, 0)},
	{unix.SYS_MKDIRAT, mutation("mkdirat", 0, 1)},
	{sysUnlink, mutation("unlink", -1, 0)},
	{unix.SYS_UNLINKAT, mutation("unlinkat", 0, 1)},
	{sysRmdir, mutation("rmdir", -1, 0)},
	{sysRename, mutation2("rename", -1, 0, -1, 1)},
	{unix.SYS_RENAMEAT, mutation2("renameat", 0, 1, 2, 3)},
	{unix.SYS_RENAMEAT2, mutation2("renameat2", 0, 1, 2, 3)},
	{sysLink, mutation2("link", -1, 0, -1, 1)},
	{unix.SYS_LINKAT, mutation2("linkat", 0, 1, 2, 3)},
	{sysSymlink, mutation("symlink", -1, 1)}, // the link made; its target is only text
	{unix.SYS_SYMLINKAT, mutation("symlinkat", 1, 2)},
	{sysChmod, mutation("chmod", -1, 0)},
	{unix.SYS_FCHMODAT, mutation("fchmodat", 0, 1)},
	{unix.SYS_FCHMODAT2, mutation("fchmodat2", 0, 1)},
	{sysChown, mutation("chown", -1, 0)},
	{sysLchown, mutation("lchown", -1, 0)},
	{unix.SYS_FCHOWNAT, mutation("fchownat", 0, 1)},
	{sysUtime, mutation("utime", -1, 0)},
	{sysUtimes, mutation("utimes", -1, 0)},
	{sysFutimesat, mutation("futimesat", 0, 1)},
	{unix.SYS_UTIMENSAT, mutation("utimensat", 0, 1)},
	{unix.SYS_TRUNCATE, mutation("truncate", -1, 0)},
	{sysMknod, mutation("mknod", -1, 0)},
	{unix.SYS_MKNODAT, mutation("mknodat", 0, 1)},
	{unix.SYS_SETXATTR, mutation("setxattr", -1, 0)},
	{unix.SYS_LSETXATTR, mutation("lsetxattr", -1, 0)},
	{unix.SYS_REMOVEXATTR, mutation("removexattr", -1, 0)},
	{unix.SYS_LREMOVEXATTR, mutation("lremovexattr", -1, 0)},
}

// mutation describes a call that changes the file system at one path.
func mutation(name string, dirfdArg, pathArg int) sysInfo {
	return sysInfo{name: name, class: ClassPath, dirfdArg: dirfdArg, pathArg: pathArg, flagsArg: -1, mutates: true}
}

// mutation2 describes a call that changes the file system at two paths.
func mutation2(name string, dirfdArg, pathArg, dirfd2Arg, path2Arg int) sysInfo {
	i := mutation(name, dirfdArg, pathArg)
	i.twoPaths, i.dirfd2Arg, i.path2Arg = true, dirfd2Arg, path2Arg
	return i
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
	unix.SYS_GETSOCKOPT: {Equal: [][2]uint32{{1, unix.SOL_SOCKET}, {2, unix.SO_ERROR}}},
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
