package tracer

import "golang.org/x/sys/unix"

// arm64 compiles and follows the same ABI rules; it is not tested on this
// project's amd64 machines yet.

const (
	auditArch     = unix.AUDIT_ARCH_AARCH64
	x32SyscallBit = 0
)

// arm64 has only the *at variants of these.
const (
	sysOpen      = -1
	sysAccept    = -1
	sysStat      = -1
	sysLstat     = -1
	sysAccess    = -1
	sysReadlink  = -1
	sysFork      = -1
	sysVfork     = -1
	sysMmap      = unix.SYS_MMAP
	sysMkdir     = -1
	sysUnlink    = -1
	sysRmdir     = -1
	sysRename    = -1
	sysLink      = -1
	sysSymlink   = -1
	sysChmod     = -1
	sysChown     = -1
	sysLchown    = -1
	sysUtimes    = -1
	sysFutimesat = -1
	sysMknod     = -1
	sysUtime     = -1
)
