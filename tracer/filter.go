package tracer

import (
	"maps"
	"slices"

	"golang.org/x/sys/unix"
)

// struct seccomp_data offsets: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6].
const (
	seccompDataNr   = 0
	seccompDataArch = 4
	seccompDataArgs = 16
)

// classic BPF opcodes used by the filter.
const (
	bpfLdWAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJgeK   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	bpfJsetK  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRetK   = unix.BPF_RET | unix.BPF_K
)

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// argCheck narrows when a syscall stops: only when argument Arg is not NULL
// (send() is sendto(..., NULL, 0): only addressed sends stop), or, with
// ClearBit set, only when that bit of the argument is clear (fstat is
// newfstatat(fd, "", AT_EMPTY_PATH): about an fd, never a path of ours).
type argCheck struct {
	Arg      int
	ClearBit uint32
	// Equal, when set, replaces the two checks above: stop only when each
	// listed argument's low word equals its value ({arg, value} pairs).
	Equal [][2]uint32
}

// buildFilter returns the seccomp program: act(nr) (RET_TRACE for the
// ptrace engine, RET_USER_NOTIF for the notification engine, either for
// the hybrid engine: see hybridAction) for the syscalls in traced, and for
// those in tracedIf when their argCheck holds, ENOSYS for io_uring_setup
// (runtimes fall back to plain syscalls, which the filter sees) and for
// any foreign ABI (i386 int 0x80, x32), which would bypass the filter's
// syscall numbers; RET_ALLOW for everything else.
//
// Only the argument checks depend on more than the syscall number, so the
// kernel (5.11+) caches the ALLOW verdict of every other syscall.
func buildFilter(traced []uint32, tracedIf map[uint32]argCheck, act func(nr uint32) uint32) []unix.SockFilter {
	enosys := uint32(unix.SECCOMP_RET_ERRNO) | uint32(unix.ENOSYS)
	prog := []unix.SockFilter{
		stmt(bpfLdWAbs, seccompDataArch),
		jump(bpfJeqK, auditArch, 1, 0),
		stmt(bpfRetK, enosys),
		stmt(bpfLdWAbs, seccompDataNr),
	}
	if x32SyscallBit != 0 {
		prog = append(prog, jump(bpfJgeK, x32SyscallBit, 0, 1), stmt(bpfRetK, enosys))
	}
	prog = append(prog, jump(bpfJeqK, uint32(unix.SYS_IO_URING_SETUP), 0, 1), stmt(bpfRetK, enosys))

	// Each traced number jumps to the shared return of its action; each
	// conditional one to its argument check. Offsets are patched once the
	// layout is known.
	type fixup struct {
		at  int
		act uint32
	}
	var fixups []fixup
	for _, nr := range traced {
		fixups = append(fixups, fixup{at: len(prog), act: act(nr)})
		prog = append(prog, jump(bpfJeqK, nr, 0, 0))
	}
	type cond struct {
		at  int
		act uint32
		argCheck
	}
	var conds []cond
	for _, nr := range slices.Sorted(maps.Keys(tracedIf)) {
		conds = append(conds, cond{at: len(prog), act: act(nr), argCheck: tracedIf[nr]})
		prog = append(prog, jump(bpfJeqK, nr, 0, 0))
	}
	prog = append(prog, stmt(bpfRetK, unix.SECCOMP_RET_ALLOW))
	retAt := map[uint32]int{}
	for _, f := range fixups {
		if _, ok := retAt[f.act]; !ok {
			retAt[f.act] = len(prog)
			prog = append(prog, stmt(bpfRetK, f.act))
		}
	}
	for _, f := range fixups {
		prog[f.at].Jt = uint8(retAt[f.act] - f.at - 1)
	}
	for _, c := range conds {
		prog[c.at].Jt = uint8(len(prog) - c.at - 1)
		lo := uint32(seccompDataArgs + 8*c.Arg)
		if len(c.Equal) > 0 {
			// Each pair: load, then on a mismatch jump to the final ALLOW.
			n := len(c.Equal)
			for i, eq := range c.Equal {
				toAllow := uint8(2*(n-i-1) + 1) // past the remaining pairs and the action's return
				prog = append(prog,
					stmt(bpfLdWAbs, uint32(seccompDataArgs+8*int(eq[0]))),
					jump(bpfJeqK, eq[1], 0, toAllow),
				)
			}
			prog = append(prog, stmt(bpfRetK, c.act), stmt(bpfRetK, unix.SECCOMP_RET_ALLOW))
			continue
		}
		if c.ClearBit != 0 {
			prog = append(prog,
				stmt(bpfLdWAbs, lo),
				jump(bpfJsetK, c.ClearBit, 0, 1), // bit set: allow
				stmt(bpfRetK, unix.SECCOMP_RET_ALLOW),
				stmt(bpfRetK, c.act),
			)
			continue
		}
		prog = append(prog,
			stmt(bpfLdWAbs, lo),
			jump(bpfJeqK, 0, 0, 2), // low word set: stop
			stmt(bpfLdWAbs, lo+4),
			jump(bpfJeqK, 0, 1, 0), // both words zero: allow
			stmt(bpfRetK, c.act),
			stmt(bpfRetK, unix.SECCOMP_RET_ALLOW),
		)
	}
	return prog
}

// oneAction is a filter's action for every intercepted call.
func oneAction(act uint32) func(uint32) uint32 { return func(uint32) uint32 { return act } }

// hybridAction is the hybrid engine's action for intercepted call nr:
// RET_TRACE for the calls its ptrace stops serve (keptOnPtrace),
// RET_USER_NOTIF for the others.
func hybridAction(nr uint32) uint32 {
	if s, ok := sysnoOf[uint64(nr)]; ok && syscalls[s].keptOnPtrace() {
		return unix.SECCOMP_RET_TRACE
	}
	return unix.SECCOMP_RET_USER_NOTIF
}

// action is the filter's verdict, computed here for a stepped launcher's
// call: RET_TRACE, RET_ALLOW, or RET_ERRNO (ENOSYS).
func (f *filterSet) action(nr uint64, args [6]uint64) uint32 {
	if nr == unix.SYS_IO_URING_SETUP {
		return unix.SECCOMP_RET_ERRNO
	}
	s, ok := sysnoOf[nr]
	if !ok || !syscalls[s].filtered(f.pathFree) {
		return unix.SECCOMP_RET_ALLOW
	}
	if c := syscalls[s].stopIf; c == nil || c.holds(args) {
		return unix.SECCOMP_RET_TRACE
	}
	return unix.SECCOMP_RET_ALLOW
}

// holds is the argument check as the filter makes it (on low words, where
// it compares values).
func (c argCheck) holds(args [6]uint64) bool {
	switch {
	case len(c.Equal) > 0:
		for _, eq := range c.Equal {
			if uint32(args[eq[0]]) != eq[1] {
				return false
			}
		}
		return true
	case c.ClearBit != 0:
		return uint32(args[c.Arg])&c.ClearBit == 0
	}
	return args[c.Arg] != 0
}
