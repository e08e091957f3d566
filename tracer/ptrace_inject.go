package tracer

import (
	"encoding/binary"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The filter goes into a process by the process itself: at its first
// syscall after an exec that needs it, the tracer turns that syscall into
// mmap (scratch memory, kept for rewrites), writes the filter there, and has
// the same syscall instruction run prctl(PR_SET_NO_NEW_PRIVS) and
// seccomp(SECCOMP_SET_MODE_FILTER); then the first syscall runs again, now
// under the filter. Nothing the program does is observable before its first
// syscall, so this is as good as installing it at the exec.

// fprogSize is struct sock_fprog: a u16 length, padding, a pointer.
const fprogSize = 16

// fallbackOff is where in the slot a filter's fallback image goes.
const fallbackOff = slotSize / 2

// A filterSet is the engines' filters as the kernel reads them: sock_fprog,
// then the instructions it points at (relocated to the slot on each
// install). The ptrace engine's (trace) stops every intercepted call; a
// debuggee's (notify) notifies them; the hybrid engine's notifies them but
// for those kept on ptrace. traceProg is the ptrace engine's program
// itself, which a launcher's gated filter wraps (ptrace_launcher.go).
type filterSet struct {
	pathFree              bool // the mount view's: no path or identity call
	traceProg             []unix.SockFilter
	trace, notify, hybrid []byte
}

func newFilterSet(pathFree bool) *filterSet {
	f := &filterSet{pathFree: pathFree, traceProg: filterProg(pathFree, oneAction(unix.SECCOMP_RET_TRACE))}
	f.trace = progImage(f.traceProg)
	f.notify = progImage(filterProg(pathFree, oneAction(unix.SECCOMP_RET_USER_NOTIF)))
	f.hybrid = progImage(filterProg(pathFree, hybridAction))
	return f
}

// allFilters stop every intercepted call; mountFilters are the mount
// view's, made the first time a program gets that view.
var (
	allFilters   = newFilterSet(false)
	mountFilters = sync.OnceValue(func() *filterSet { return newFilterSet(true) })
)

// filterProg is the table's filter with act for its intercepted calls.
func filterProg(pathFree bool, act func(uint32) uint32) []unix.SockFilter {
	traced, tracedIf := filterLists(pathFree)
	return buildFilter(traced, tracedIf, act)
}

// progImage is a BPF program as the kernel reads it: sock_fprog (its
// pointer filled in at the install), then the instructions.
func progImage(prog []unix.SockFilter) []byte {
	b := make([]byte, fprogSize, fprogSize+8*len(prog))
	binary.LittleEndian.PutUint16(b, uint16(len(prog)))
	for _, f := range prog {
		b = binary.LittleEndian.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = binary.LittleEndian.AppendUint32(b, f.K)
	}
	return b
}

// filterLoad is a filter to put into a process: its image, the flags of
// seccomp(SECCOMP_SET_MODE_FILTER), and what to do once it is in, with
// the call's result (a listener fd, for SECCOMP_FILTER_FLAG_NEW_LISTENER).
type filterLoad struct {
	img   []byte
	flags uint64
	done  func(saved regs, ret int64)
	// fallback, when set, is loaded instead if the kernel refuses this
	// one (its image lies at fallbackOff in the slot).
	fallback *filterLoad
}

// startInstall begins the injection at th's first syscall-entry stop.
// Precondition: on the tracer's thread; th is at a syscall-entry stop.
func (e *ptraceEngine) startInstall(th *thread, r *regs) {
	th.proc.install = false
	traced := &filterLoad{img: e.filters.trace, flags: unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, done: func(saved regs, _ int64) {
		e.filterIn(th, saved)
	}}
	if e.hybrid {
		e.injectFilter(th, *r, e.hybridLoad(th, traced))
		return
	}
	e.injectFilter(th, *r, traced)
}

// filterIn counts a filter put into th's process and has the program's
// first syscall run again, now under the filter.
// Precondition: on the tracer's thread, in an exit-stop callback.
func (e *ptraceEngine) filterIn(th *thread, saved regs) {
	th.proc.filtered = true
	e.stats.Installs++
	r := saved
	r.rearm()
	if err := setRegs(th.tid, &r); err != nil {
		e.injectFailed(th, "restore registers", err)
	}
}

// injectFilter turns the syscall th is stopped at (its registers saved)
// into mmap of scratch memory, writes the filter's image there (and its
// fallback's) and has the same instruction run prctl(PR_SET_NO_NEW_PRIVS)
// and seccomp; load.done runs at the seccomp call's exit stop.
// Precondition: on the tracer's thread; th is at a syscall-entry stop.
func (e *ptraceEngine) injectFilter(th *thread, saved regs, load *filterLoad) {
	e.mmapScratch(th, saved, e.injectFailed, func(slot taddr) {
		for off, l := taddr(0), load; l != nil; off, l = fallbackOff, l.fallback {
			img := append([]byte(nil), l.img...)
			binary.LittleEndian.PutUint64(img[8:], uint64(slot+off)+fprogSize)
			if err := writeMem(th.tid, slot+off, img); err != nil {
				e.injectFailed(th, "write the filter", err)
				return
			}
		}
		e.injectNext(th, saved, "prctl", unix.SYS_PRCTL, []uint64{unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0}, func(int64) {
			e.injectSeccomp(th, saved, uint64(slot), load)
		})
	})
}

// scratchMmap is the arguments of the mmap that gives a process the
// scratch region the tracer writes paths, addresses and filters into.
var scratchMmap = []uint64{0, regionSize, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, ^uint64(0), 0}

// mmapScratch turns the syscall th is stopped at (its registers saved)
// into an mmap of a scratch region and resumes th; at the mmap's exit stop
// the region joins th's process and use gets th's slot in it. failed
// reports a step that went wrong.
// Precondition: on the tracer's thread; th is at a syscall-entry stop.
func (e *ptraceEngine) mmapScratch(th *thread, saved regs, failed func(*thread, string, error), use func(slot taddr)) {
	m := saved
	m.setNr(uint64(sysMmap))
	for i, a := range scratchMmap {
		m.setArg(i, a)
	}
	if err := setRegs(th.tid, &m); err != nil {
		failed(th, "set registers", err)
		return
	}
	th.atExit = func(th *thread) {
		addr, ok := e.injectedResult(th, "mmap")
		if !ok {
			return
		}
		th.proc.mm.addRegion(taddr(addr))
		slot, _ := th.proc.mm.slot(th.tid)
		use(slot)
	}
	e.resume(th, 0)
}

// injectSeccomp loads the filter whose image is at fprog. SPEC_ALLOW: where
// the kernel mitigates Speculative Store Bypass for every seccomp task (a
// common default), the program would run slower everywhere, not only in
// syscalls; the filter routes syscalls, it is no sandbox. Kernels before
// 4.17 lack the flag: it is tried again without it. A filter the kernel
// still refuses gives way to its fallback, when it has one.
// Precondition: on the tracer's thread, in an exit-stop callback.
func (e *ptraceEngine) injectSeccomp(th *thread, saved regs, fprog uint64, load *filterLoad) {
	e.injectNext(th, saved, "seccomp", unix.SYS_SECCOMP, []uint64{unix.SECCOMP_SET_MODE_FILTER, load.flags, fprog}, func(ret int64) {
		load.done(saved, ret)
	})
	next := th.atExit
	th.atExit = func(th *thread) {
		var r regs
		if getRegs(th.tid, &r) == nil && r.ret() < 0 && r.ret() > -4096 {
			errno := unix.Errno(-r.ret())
			switch {
			case errno == unix.EINVAL && load.flags&unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW != 0:
				retry := *load
				retry.flags &^= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
				e.injectSeccomp(th, saved, fprog, &retry)
				return
			case load.fallback != nil:
				e.log.Info("the hybrid engine cannot serve this process: its calls stop under ptrace",
					zap.Int("pid", th.proc.pid), zap.Error(errno))
				e.stats.PtraceFallbacks++
				e.injectSeccomp(th, saved, fprog+fallbackOff, load.fallback)
				return
			}
		}
		next(th)
	}
}

// injectNext makes the thread, now at an injected call's exit stop, run
// syscall nr next; done runs at that call's exit stop if it succeeded.
// Precondition: on the tracer's thread, in an exit-stop callback.
func (e *ptraceEngine) injectNext(th *thread, saved regs, name string, nr uint64, args []uint64, done func(ret int64)) {
	r := saved
	r.callAgain(nr, args...)
	if err := setRegs(th.tid, &r); err != nil {
		e.injectFailed(th, "set registers", err)
		return
	}
	th.passEntry = true // its entry stop is ours, not the program's
	th.atExit = func(th *thread) {
		if ret, ok := e.injectedResult(th, name); ok {
			done(ret)
		}
	}
}

// injectedResult reads an injected call's result; a failure ends the
// process, which must not run unfiltered.
// Precondition: on the tracer's thread, at the call's exit stop.
func (e *ptraceEngine) injectedResult(th *thread, name string) (int64, bool) {
	var r regs
	if err := getRegs(th.tid, &r); err != nil {
		e.injectFailed(th, name, err)
		return 0, false
	}
	if ret := r.ret(); ret < 0 && ret > -4096 {
		e.injectFailed(th, name, unix.Errno(-ret))
		return 0, false
	}
	return r.ret(), true
}

// injectFailed kills a process a call the tracer made in it failed for (its
// filter's install, a move between namespaces): running it unfiltered, or
// on the wrong side, would reach this machine's network and files.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) injectFailed(th *thread, step string, err error) {
	e.log.Error("cannot prepare the process (a call the tracer makes in it failed); it is killed",
		zap.Int("pid", th.proc.pid), zap.String("step", step), zap.Error(err))
	th.atExit = nil
	_ = unix.Kill(th.proc.pid, unix.SIGKILL)
}
