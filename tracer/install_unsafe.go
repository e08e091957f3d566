package tracer

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// installFilter sets no_new_privs and loads the filter on the calling thread;
// both survive execve and are inherited by every child.
func installFilter() error {
	always, tracedIf := filterLists()
	prog := buildFilter(always, tracedIf)
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// SPEC_ALLOW: where the kernel mitigates Speculative Store Bypass for every
	// seccomp task (spec_store_bypass_disable=seccomp, a common default), the
	// program would run slower everywhere, not only in syscalls. The filter
	// routes syscalls; it is no sandbox. Kernels before 4.17 lack the flag.
	e := seccompSetFilter(&fprog, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
	if e == unix.EINVAL {
		e = seccompSetFilter(&fprog, 0)
	}
	if e != 0 {
		return os.NewSyscallError("seccomp(SECCOMP_SET_MODE_FILTER)", e)
	}
	return nil
}

func seccompSetFilter(fprog *unix.SockFprog, flags uintptr) unix.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(fprog)))
	return e
}
