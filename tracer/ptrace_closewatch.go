package tracer

import (
	"encoding/binary"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// A program's close and shutdown matter only for its listening sockets (a
// port given back, pkg/incoming), and most programs close thousands of
// other fds. So no filter stops them; instead, when a filtered process's
// listen(fd) returns 0, the tracer adds a small filter to it that stops
// close(fd) and shutdown(fd) alone (RET_TRACE), for all its threads
// (SECCOMP_FILTER_FLAG_TSYNC) and its children. listen is kept on ptrace
// for this: its exit stop is where the filter goes in, through the same
// instruction. A number reused after the listener's close stops too, and
// is answered at once. dup2 over the fd and close_range are not watched
// (pkg/incoming's poll sees those). Debuggees (no ptrace) are not watched.

// maxCloseWatches bounds the filters one process gets (a test suite that
// listens thousands of times would slow every close of it).
const maxCloseWatches = 64

// closeWatchFilter is the filter that stops close(fd) and shutdown(fd).
func closeWatchFilter(fd int) []unix.SockFilter {
	allow := stmt(bpfRetK, unix.SECCOMP_RET_ALLOW)
	return []unix.SockFilter{
		stmt(bpfLdWAbs, seccompDataArch),
		jump(bpfJeqK, auditArch, 1, 0),
		allow,
		stmt(bpfLdWAbs, seccompDataNr),
		jump(bpfJeqK, uint32(unix.SYS_CLOSE), 2, 0),
		jump(bpfJeqK, uint32(unix.SYS_SHUTDOWN), 1, 0),
		allow,
		stmt(bpfLdWAbs, seccompDataArgs),
		jump(bpfJeqK, uint32(fd), 0, 1),
		stmt(bpfRetK, unix.SECCOMP_RET_TRACE),
		allow,
	}
}

// listens says whether c is a listen, whose exit may put a close watch in.
func listens(c *Call) bool { return c != nil && c.Syscall == SysListen }

// watchesCloses says whether a listen that returned ret puts a close watch
// into th's process.
func watchesCloses(th *thread, ret int64) bool {
	return ret == 0 && th.proc.filtered && th.proc.closeWatches < maxCloseWatches
}

// watchCloses puts the close watch of fd into th's process; th is at its
// listen's exit stop with registers saved, which it gets back after.
// Failing costs nothing but the watch: the poll still sees the close.
// Precondition: on the tracer's thread, in an exit-stop callback.
func (e *ptraceEngine) watchCloses(th *thread, fd int, saved regs) {
	slot, ok := th.proc.mm.slot(th.tid)
	if !ok {
		if th.proc.mm.noMem {
			return
		}
		e.injectAtExit(th, saved, uint64(sysMmap), scratchMmap, func(addr int64) {
			if addr < 0 {
				th.proc.mm.noMem = true
				return
			}
			th.proc.mm.addRegion(taddr(addr))
			e.watchCloses(th, fd, saved)
		})
		return
	}
	img := progImage(closeWatchFilter(fd))
	binary.LittleEndian.PutUint64(img[8:], uint64(slot)+fprogSize)
	if err := writeMem(th.tid, slot, img); err != nil {
		e.log.Debug("close watch: write the filter", zap.Int("pid", th.proc.pid), zap.Error(err))
		return
	}
	flags := uint64(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
	e.injectAtExit(th, saved, unix.SYS_SECCOMP, []uint64{unix.SECCOMP_SET_MODE_FILTER, flags, uint64(slot)}, func(ret int64) {
		if ret != 0 {
			// A negative errno, or the thread TSYNC could not bring along.
			e.log.Debug("close watch refused; the poll sees this listener's close", zap.Int("pid", th.proc.pid), zap.Int64("ret", ret))
			return
		}
		th.proc.closeWatches++
		e.stats.CloseWatches++
	})
}

// injectAtExit has th, at an exit stop with registers saved, make syscall
// nr; done gets its result (an errno as its negative), then th gets saved
// back and goes on as if nothing had run in between.
// Precondition: on the tracer's thread, in an exit-stop callback.
func (e *ptraceEngine) injectAtExit(th *thread, saved regs, nr uint64, args []uint64, done func(ret int64)) {
	r := saved
	r.callAgain(nr, args...)
	if err := setRegs(th.tid, &r); err != nil {
		e.log.Debug("inject at exit", zap.Int("tid", th.tid), zap.Error(err))
		_ = setRegs(th.tid, &saved)
		return
	}
	e.stats.Injections++
	th.passEntry = true // its entry stop is ours, not the program's
	th.atExit = func(th *thread) {
		var got regs
		ret := -int64(unix.EIO)
		if err := getRegs(th.tid, &got); err == nil {
			ret = got.ret()
		}
		restore := saved
		defer func() {
			if th.atExit == nil { // done asked for no further call
				if err := setRegs(th.tid, &restore); err != nil {
					e.log.Debug("restore registers", zap.Int("tid", th.tid), zap.Error(err))
				}
			}
		}()
		done(ret)
	}
}
