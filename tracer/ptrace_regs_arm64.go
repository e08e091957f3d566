package tracer

import "golang.org/x/sys/unix"

const (
	syscallInsnSize = 4 // svc #0
	ntArmSystemCall = 0x404
)

// regs is one thread's register file. On arm64 the syscall number lives in x8
// but changing it needs the NT_ARM_SYSTEM_CALL regset, and x0 is both the first
// argument and the result, so the original x0 is kept aside.
type regs struct {
	r     unix.PtraceRegs
	sysNr uint64
	x0    uint64 // the first argument as seen at syscall entry
	nrSet bool
}

func (r *regs) nr() uint64       { return r.sysNr }
func (r *regs) setNr(nr uint64)  { r.sysNr, r.nrSet = nr, true }
func (r *regs) ret() int64       { return int64(r.r.Regs[0]) }
func (r *regs) setRet(v int64)   { r.r.Regs[0] = uint64(v) }
func (r *regs) arg(i int) uint64 { return r.r.Regs[i] }
func (r *regs) pc() uint64       { return r.r.Pc }
func (r *regs) setArg(i int, v uint64) {
	r.r.Regs[i] = v
}

func (r *regs) rearm() {
	r.r.Pc -= syscallInsnSize
	r.r.Regs[0] = r.x0
	r.r.Regs[8] = r.sysNr
}

// Precondition: on the tracer's thread.
func getRegs(tid int, r *regs) error {
	if err := unix.PtraceGetRegs(tid, &r.r); err != nil {
		return err
	}
	r.sysNr, r.x0, r.nrSet = r.r.Regs[8], r.r.Regs[0], false
	return nil
}

// callAgain sets up the registers of a thread at a syscall-exit stop so that,
// resumed, it runs syscall nr with args through the same svc instruction.
func (r *regs) callAgain(nr uint64, args ...uint64) {
	r.sysNr = nr
	for i, a := range args {
		r.setArg(i, a)
	}
	if len(args) > 0 {
		r.x0 = args[0]
	}
	r.rearm()
}
