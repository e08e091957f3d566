package tracer

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestGatedFilterActsOnlyOnItsCode: a launcher's gated filter stops its
// intercepted calls, refuses its bypasses, and lets the same calls from
// any other code through (the programs it execs), with ranges that cross
// a 4 GiB boundary or end on one.
func TestGatedFilterActsOnlyOnItsCode(t *testing.T) {
	traced, tracedIf := filterLists(false)
	ranges := []ipRange{
		{0x5555_5555_4000, 0x5555_5560_0000},
		{0x1_ffff_f000, 0x2_0000_1000},       // crosses 4 GiB * 2
		{0x7f12_ffff_0000, 0x7f13_0000_0000}, // ends on a 4 GiB boundary
	}
	prog := gateByIP(buildFilter(traced, tracedIf, oneAction(unix.SECCOMP_RET_TRACE)), ranges)
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		trace  = unix.SECCOMP_RET_TRACE
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	inside := []uint64{0x5555_5555_4000, 0x5555_555f_ffff, 0x1_ffff_f000, 0x1_ffff_ffff, 0x2_0000_0000, 0x2_0000_0fff, 0x7f12_ffff_0000, 0x7f12_ffff_ffff}
	outside := []uint64{0, 0x5555_5555_3fff, 0x5555_5560_0000, 0x1_ffff_efff, 0x2_0000_1000, 0x7f13_0000_0000, 0x7f12_fffe_ffff, 0x5554_5555_4000} // the last: the low word of a range in another window
	for _, ip := range inside {
		if got := runFilterAt(t, prog, auditArch, unix.SYS_OPENAT, [6]uint64{}, ip); got != trace {
			t.Errorf("openat from %#x (its code): %#x, want RET_TRACE", ip, got)
		}
		if got := runFilterAt(t, prog, auditArch, unix.SYS_IO_URING_SETUP, [6]uint64{}, ip); got != enosys {
			t.Errorf("io_uring_setup from %#x (its code): %#x, want ENOSYS", ip, got)
		}
		if got := runFilterAt(t, prog, auditArch+1, unix.SYS_OPENAT, [6]uint64{}, ip); got != enosys {
			t.Errorf("a foreign ABI from %#x (its code): %#x, want ENOSYS", ip, got)
		}
		if got := runFilterAt(t, prog, auditArch, unix.SYS_GETPID, [6]uint64{}, ip); got != allow {
			t.Errorf("getpid from %#x: %#x, want ALLOW", ip, got)
		}
	}
	for _, ip := range outside {
		for _, nr := range []int{unix.SYS_OPENAT, unix.SYS_CONNECT, unix.SYS_IO_URING_SETUP, unix.SYS_GETPID} {
			if got := runFilterAt(t, prog, auditArch, nr, [6]uint64{1, 1, 1, 1, 1, 1}, ip); got != allow {
				t.Errorf("syscall %d from %#x (other code): %#x, want ALLOW", nr, ip, got)
			}
		}
	}
}
