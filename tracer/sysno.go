package tracer

import "strconv"

// Sysno names an intercepted syscall: one constant on every architecture,
// whatever the kernel's number for it there (syscalls.go maps the two; a
// call an architecture lacks, such as arm64's open, never happens there).
// Handlers tell calls apart by it; String is the kernel's name for it, as
// logs and `kubectl mirror trace` print it.
type Sysno uint8

// The intercepted syscalls, by the class of their Call.
const (
	// ClassSocket
	SysConnect Sysno = iota + 1
	SysBind
	SysListen
	SysSendto
	SysSendmsg
	SysRecvfrom
	SysRecvmsg
	SysGetpeername
	SysGetsockname
	SysGetsockopt
	SysAccept
	SysAccept4

	// ClassPath: calls that read
	SysOpen
	SysOpenat
	SysOpenat2
	SysStat
	SysLstat
	SysNewfstatat
	SysStatx
	SysAccess
	SysFaccessat
	SysFaccessat2
	SysReadlink
	SysReadlinkat
	SysGetxattr
	SysLgetxattr
	SysChdir
	SysStatfs
	SysFstatfs
	SysInotifyAddWatch
	SysFstat

	// ClassPath: calls that change the file system (Call.Mutates)
	SysMkdir
	SysMkdirat
	SysUnlink
	SysUnlinkat
	SysRmdir
	SysRename
	SysRenameat
	SysRenameat2
	SysLink
	SysLinkat
	SysSymlink
	SysSymlinkat
	SysChmod
	SysFchmodat
	SysFchmodat2
	SysChown
	SysLchown
	SysFchownat
	SysUtime
	SysUtimes
	SysFutimesat
	SysUtimensat
	SysTruncate
	SysMknod
	SysMknodat
	SysSetxattr
	SysLsetxattr
	SysRemovexattr
	SysLremovexattr

	// ClassIdentity
	SysUname
	SysSethostname
	SysSetdomainname

	// ClassSocket, appended: the calls that end a listening socket.
	SysClose
	SysShutdown

	numSysnos
)

// String is the syscall's name in the kernel: "connect", "openat", ...
func (s Sysno) String() string {
	if s > 0 && s < numSysnos {
		return syscalls[s].name
	}
	return "sysno" + strconv.Itoa(int(s))
}
