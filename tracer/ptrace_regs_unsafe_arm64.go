package tracer

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// setRegs writes the registers back, changing the syscall number through the
// NT_ARM_SYSTEM_CALL regset when it was set: x8 alone is not read again.
// Precondition: called on the tracer's locked thread; tid is in a ptrace-stop.
func setRegs(tid int, r *regs) error {
	if r.nrSet {
		nr := int32(r.sysNr)
		iov := unix.Iovec{Base: (*byte)(unsafe.Pointer(&nr))}
		iov.SetLen(4)
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(tid), ntArmSystemCall, uintptr(unsafe.Pointer(&iov)), 0, 0); e != 0 {
			return e
		}
		r.nrSet = false
	}
	return unix.PtraceSetRegs(tid, &r.r)
}
