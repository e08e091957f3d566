package tracer

// Scratch memory: rewritten sockaddrs and paths must live in the tracee's own
// address space. Writing below the stack pointer is unsafe on Go goroutine
// stacks, so the tracer maps a region once per address space (by turning the
// current syscall into mmap) and gives each thread a slot of its own.
const (
	slotSize    = 8192 // a path (PATH_MAX) or a msghdr copy plus sockaddr fits
	regionSlots = 64
	regionSize  = slotSize * regionSlots
)

// addrSpace is one mm: shared by threads and by CLONE_VM children (vfork),
// copied by fork, replaced by exec.
type addrSpace struct {
	free   []taddr
	slotOf map[int]taddr // tid -> slot
	bases  []taddr
	noMem  bool // mapping a region failed: rewrites in this mm are given up
}

func newAddrSpace() *addrSpace { return &addrSpace{slotOf: map[int]taddr{}} }

func (a *addrSpace) addRegion(base taddr) {
	a.bases = append(a.bases, base)
	for i := regionSlots - 1; i >= 0; i-- {
		a.free = append(a.free, base+taddr(i*slotSize))
	}
}

// forkCopy is the child's view after fork: the same regions, all slots free
// (the child's one thread has none yet).
func (a *addrSpace) forkCopy() *addrSpace {
	b := newAddrSpace()
	for _, base := range a.bases {
		b.addRegion(base)
	}
	return b
}

// slot returns tid's slot, taking a free one if needed; ok is false when the
// address space has none left and a region must be mapped first.
// Precondition: on the tracer's thread.
func (a *addrSpace) slot(tid int) (taddr, bool) {
	if s, ok := a.slotOf[tid]; ok {
		return s, true
	}
	n := len(a.free)
	if n == 0 {
		return 0, false
	}
	s := a.free[n-1]
	a.free = a.free[:n-1]
	a.slotOf[tid] = s
	return s, true
}

// Precondition: on the tracer's thread.
func (a *addrSpace) release(tid int) {
	if s, ok := a.slotOf[tid]; ok {
		delete(a.slotOf, tid)
		a.free = append(a.free, s)
	}
}

type process struct {
	pid  int
	mm   *addrSpace
	mode Mode
	// filtered: the process carries the seccomp filter (inherited by its
	// children and kept across exec).
	filtered bool
	// install: the filter goes in at the process's next syscall.
	install bool
	// debugChild: a fork of a Debugger, stepped until it execs or asks to
	// be traced by it (PTRACE_TRACEME), when it is handed over.
	debugChild bool
	// launcher: how a Launcher's own calls are seen (ptrace_launcher.go).
	launcher launcherState
	// closeWatches: close watches put into it (ptrace_closewatch.go).
	closeWatches int
	// nsSwitch: it moves into or out of the mount view at its next
	// syscall (ptrace_nsswitch.go).
	nsSwitch nsWant
}

// stepped: the process has no filter but its syscalls are seen, each one
// stopping at entry and exit (PTRACE_SYSCALL): a launcher until its gated
// filter is in (or for good where no gate can be trusted), or a process
// waiting for its filter.
func (p *process) stepped() bool {
	return p.nsSwitch != nsStay || !p.filtered && ((p.mode == Launcher && !p.launcher.gated) || p.install || p.debugChild)
}

// child is the process a fork or vfork makes: the same mode and filter.
func (p *process) child(pid int, mm *addrSpace) *process {
	return &process{pid: pid, mm: mm, mode: p.mode, filtered: p.filtered, launcher: p.launcher, closeWatches: p.closeWatches}
}

// thread is one traced task and what the tracer is in the middle of with it.
type thread struct {
	tid  int
	proc *process
	seq  uint64 // counts seccomp stops, so a late Resume finds its own
	// atExit runs at the next syscall-exit stop; while it is set the thread
	// is resumed with PTRACE_SYSCALL so that stop is reported.
	atExit func(*thread)
	held   *Call // a call waiting for Resume
	// pending is a verdict whose rewrite waits for the scratch region being
	// mapped; it applies when the same syscall stops again.
	pending *pendingVerdict
	// passEntry: the next syscall-entry stop is of a call the tracer
	// injected, to be let through.
	passEntry bool
	// handOff, when set, is the listener the thread is handed to: it is
	// detached at its next syscall-exit stop.
	handOff *listener
}

type pendingVerdict struct {
	nr   uint64
	call *Call
	v    Verdict
}
