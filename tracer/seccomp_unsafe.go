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
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return os.NewSyscallError("seccomp(SECCOMP_SET_MODE_FILTER)", e)
	}
	return nil
}
