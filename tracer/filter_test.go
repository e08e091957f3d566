package tracer

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// runFilter interprets the classic-BPF subset buildFilter emits against one
// struct seccomp_data, as the kernel would.
func runFilter(t *testing.T, prog []unix.SockFilter, arch uint32, nr int, args [6]uint64) uint32 {
	t.Helper()
	return runFilterAt(t, prog, arch, nr, args, 0)
}

// runFilterAt is runFilter for a call made from instruction pointer ip.
func runFilterAt(t *testing.T, prog []unix.SockFilter, arch uint32, nr int, args [6]uint64, ip uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[0:], uint32(nr))
	binary.LittleEndian.PutUint32(data[4:], arch)
	binary.LittleEndian.PutUint64(data[8:], ip)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[16+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case bpfLdWAbs:
			acc = binary.LittleEndian.Uint32(data[ins.K:])
		case bpfJeqK, bpfJgeK, bpfJsetK:
			var cond bool
			switch ins.Code {
			case bpfJeqK:
				cond = acc == ins.K
			case bpfJgeK:
				cond = acc >= ins.K
			default:
				cond = acc&ins.K != 0
			}
			if cond {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case bpfJaK:
			pc += int(ins.K)
		case bpfRetK:
			return ins.K
		default:
			t.Fatalf("unexpected opcode %#x at %d", ins.Code, pc)
		}
	}
	t.Fatal("filter fell off its end")
	return 0
}

func TestFilterVerdicts(t *testing.T) {
	traced, tracedIf := filterLists(false)
	prog := buildFilter(traced, tracedIf, oneAction(unix.SECCOMP_RET_TRACE))
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		trace  = unix.SECCOMP_RET_TRACE
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	cases := []struct {
		name string
		arch uint32
		nr   int
		args [6]uint64
		want uint32
	}{
		{"getpid runs natively", auditArch, unix.SYS_GETPID, [6]uint64{}, allow},
		{"read runs natively", auditArch, unix.SYS_READ, [6]uint64{3, 0x1000, 10}, allow},
		{"connect stops", auditArch, unix.SYS_CONNECT, [6]uint64{3, 0x1000, 16}, trace},
		{"openat stops", auditArch, unix.SYS_OPENAT, [6]uint64{unix.AT_FDCWD & 0xffffffff, 0x1000}, trace},
		{"send() is sendto without address: native", auditArch, unix.SYS_SENDTO, [6]uint64{3, 0x1000, 10, 0, 0, 0}, allow},
		{"addressed sendto stops", auditArch, unix.SYS_SENDTO, [6]uint64{3, 0x1000, 10, 0, 0x2000, 16}, trace},
		{"address above 4 GiB stops", auditArch, unix.SYS_RECVFROM, [6]uint64{3, 0x1000, 10, 0, 0x7fff00000000, 0x3000}, trace},
		{"fstat via newfstatat(AT_EMPTY_PATH) stops (a copy's fd shows the pod's metadata)", auditArch, unix.SYS_NEWFSTATAT, [6]uint64{3, 0x1000, 0x2000, unix.AT_EMPTY_PATH}, trace},
		{"fstat stops", auditArch, unix.SYS_FSTAT, [6]uint64{3, 0x1000}, trace},
		{"newfstatat of a path stops", auditArch, unix.SYS_NEWFSTATAT, [6]uint64{unix.AT_FDCWD & 0xffffffff, 0x1000, 0x2000, 0}, trace},
		{"getsockopt(SO_ERROR) stops", auditArch, unix.SYS_GETSOCKOPT, [6]uint64{3, unix.SOL_SOCKET, unix.SO_ERROR, 0x1000, 0x2000}, trace},
		{"other getsockopt: native", auditArch, unix.SYS_GETSOCKOPT, [6]uint64{3, unix.SOL_SOCKET, unix.SO_RCVBUF, 0x1000, 0x2000}, allow},
		{"SO_ERROR's number at another level: native", auditArch, unix.SYS_GETSOCKOPT, [6]uint64{3, unix.IPPROTO_TCP, unix.SO_ERROR, 0x1000, 0x2000}, allow},
		{"io_uring_setup fails so runtimes fall back", auditArch, unix.SYS_IO_URING_SETUP, [6]uint64{}, enosys},
		{"a foreign ABI (int 0x80) is refused", unix.AUDIT_ARCH_I386, 5, [6]uint64{}, enosys},
	}
	if x32SyscallBit != 0 {
		cases = append(cases, struct {
			name string
			arch uint32
			nr   int
			args [6]uint64
			want uint32
		}{"x32 numbers are refused", auditArch, x32SyscallBit | unix.SYS_CONNECT, [6]uint64{}, enosys})
	}
	for _, tc := range cases {
		if got := runFilter(t, prog, tc.arch, tc.nr, tc.args); got != tc.want {
			t.Errorf("%s: verdict %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

// TestHybridFilterKeepsWhatPtraceMustSee: the hybrid engine's filter
// notifies the intercepted calls, but for chdir and the calls that change
// the file system, which stop under ptrace.
func TestHybridFilterKeepsWhatPtraceMustSee(t *testing.T) {
	traced, tracedIf := filterLists(false)
	prog := buildFilter(traced, tracedIf, hybridAction)
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		trace  = unix.SECCOMP_RET_TRACE
		notify = unix.SECCOMP_RET_USER_NOTIF
	)
	for _, tc := range []struct {
		name string
		nr   int
		args [6]uint64
		want uint32
	}{
		{"getpid runs natively", unix.SYS_GETPID, [6]uint64{}, allow},
		{"openat is notified", unix.SYS_OPENAT, [6]uint64{unix.AT_FDCWD & 0xffffffff, 0x1000}, notify},
		{"connect stops (its decision may wait for the pod)", unix.SYS_CONNECT, [6]uint64{3, 0x1000, 16}, trace},
		{"addressed sendto is notified", unix.SYS_SENDTO, [6]uint64{3, 0x1000, 10, 0, 0x2000, 16}, notify},
		{"send() runs natively", unix.SYS_SENDTO, [6]uint64{3, 0x1000, 10, 0, 0, 0}, allow},
		{"getsockopt(SO_ERROR) stops (a signal never interrupts it natively)", unix.SYS_GETSOCKOPT, [6]uint64{3, unix.SOL_SOCKET, unix.SO_ERROR, 0x1000, 0x2000}, trace},
		{"getpeername stops", unix.SYS_GETPEERNAME, [6]uint64{3, 0x1000, 0x2000}, trace},
		{"fstat via newfstatat(AT_EMPTY_PATH) is notified", unix.SYS_NEWFSTATAT, [6]uint64{3, 0x1000, 0x2000, unix.AT_EMPTY_PATH}, notify},
		{"fstat is notified", unix.SYS_FSTAT, [6]uint64{3, 0x1000}, notify},
		{"chdir stops", unix.SYS_CHDIR, [6]uint64{0x1000}, trace},
		{"mkdirat stops", unix.SYS_MKDIRAT, [6]uint64{unix.AT_FDCWD & 0xffffffff, 0x1000, 0o755}, trace},
		{"unlinkat stops", unix.SYS_UNLINKAT, [6]uint64{unix.AT_FDCWD & 0xffffffff, 0x1000, 0}, trace},
		{"renameat2 stops", unix.SYS_RENAMEAT2, [6]uint64{}, trace},
	} {
		if got := runFilter(t, prog, auditArch, tc.nr, tc.args); got != tc.want {
			t.Errorf("%s: verdict %#x, want %#x", tc.name, got, tc.want)
		}
	}
}
