package tracer

import "golang.org/x/sys/unix"

const (
	auditArch     = unix.AUDIT_ARCH_X86_64
	x32SyscallBit = 0x40000000 // x32 ABI numbers: refused by the filter
)

// Syscalls whose numbers exist only on amd64; -1 where the arch lacks one.
const (
	sysOpen      = unix.SYS_OPEN
	sysAccept    = unix.SYS_ACCEPT
	sysStat      = unix.SYS_STAT
	sysLstat     = unix.SYS_LSTAT
	sysAccess    = unix.SYS_ACCESS
	sysReadlink  = unix.SYS_READLINK
	sysFork      = unix.SYS_FORK
	sysVfork     = unix.SYS_VFORK
	sysMmap      = unix.SYS_MMAP
	sysMkdir     = unix.SYS_MKDIR
	sysUnlink    = unix.SYS_UNLINK
	sysRmdir     = unix.SYS_RMDIR
	sysRename    = unix.SYS_RENAME
	sysLink      = unix.SYS_LINK
	sysSymlink   = unix.SYS_SYMLINK
	sysChmod     = unix.SYS_CHMOD
	sysChown     = unix.SYS_CHOWN
	sysLchown    = unix.SYS_LCHOWN
	sysUtimes    = unix.SYS_UTIMES
	sysFutimesat = unix.SYS_FUTIMESAT
	sysMknod     = unix.SYS_MKNOD
	sysUtime     = unix.SYS_UTIME
)
