package tracer

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ptraceSyscallInfo is the head of struct ptrace_syscall_info; only op is read.
type ptraceSyscallInfo struct {
	op   uint8
	_    [3]byte
	arch uint32
	ip   uint64
	sp   uint64
	nr   uint64
	args [6]uint64
}

// syscallStop tells an entry stop from an exit stop (Linux 5.3+), and
// whether an entry is of this architecture's own syscall ABI.
// Precondition: on the tracer's thread; tid is at a syscall stop.
func syscallStop(tid int) (entry, nativeABI bool, err error) {
	var info ptraceSyscallInfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(info), uintptr(unsafe.Pointer(&info)), 0, 0)
	if e != 0 {
		return false, false, os.NewSyscallError("ptrace(PTRACE_GET_SYSCALL_INFO)", e)
	}
	entry = info.op == unix.PTRACE_SYSCALL_INFO_ENTRY
	return entry, info.arch == auditArch && (x32SyscallBit == 0 || info.nr < x32SyscallBit), nil
}
