package tracer

import "golang.org/x/sys/unix"

// syscallInsnSize is the length of the `syscall` instruction: the PC moves
// back by this much to run a syscall again.
const syscallInsnSize = 2

// regs is one thread's register file with the syscall ABI spelled out.
type regs struct{ r unix.PtraceRegs }

func (r *regs) nr() uint64       { return r.r.Orig_rax }
func (r *regs) setNr(nr uint64)  { r.r.Orig_rax = nr }
func (r *regs) ret() int64       { return int64(r.r.Rax) }
func (r *regs) setRet(v int64)   { r.r.Rax = uint64(v) }
func (r *regs) arg(i int) uint64 { return *r.argp(i) }
func (r *regs) pc() uint64       { return r.r.Rip }
func (r *regs) setArg(i int, v uint64) {
	*r.argp(i) = v
}

// rearm makes the syscall instruction run again on resume: the kernel has
// overwritten rax with the result, so put the number back.
func (r *regs) rearm() {
	r.r.Rip -= syscallInsnSize
	r.r.Rax = r.r.Orig_rax
}

func (r *regs) argp(i int) *uint64 {
	switch i {
	case 0:
		return &r.r.Rdi
	case 1:
		return &r.r.Rsi
	case 2:
		return &r.r.Rdx
	case 3:
		return &r.r.R10
	case 4:
		return &r.r.R8
	default:
		return &r.r.R9
	}
}

// Precondition: called on the tracer's locked thread; tid is in a ptrace-stop.
func getRegs(tid int, r *regs) error { return unix.PtraceGetRegs(tid, &r.r) }

// Precondition: called on the tracer's locked thread; tid is in a ptrace-stop.
func setRegs(tid int, r *regs) error { return unix.PtraceSetRegs(tid, &r.r) }

// callAgain sets up the registers of a thread at a syscall-exit stop so that,
// resumed, it runs syscall nr with args through the same syscall instruction.
func (r *regs) callAgain(nr uint64, args ...uint64) {
	r.setNr(nr)
	for i, a := range args {
		r.setArg(i, a)
	}
	r.rearm()
}
