package tracer

import (
	"os"
	"strconv"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Under the mount view (mountview.go) the view is the intercepted
// programs', not their native helpers': a build tool, git or a
// --skip-process program runs with this machine's files, name lookup and
// host name, as it does on the stop path. So at an exec the tracer moves a
// process whose namespaces are not its mode's: a Native one out of the view
// into the plugin's own, any other (an intercepted program a native go
// command runs, a debugger and its program) back in. At the process's first
// syscall it runs, by injected calls: open of the plugin's fd of the
// namespace (/proc/PLUGIN/fd/N), setns, close, for the mount and the UTS
// namespaces, then chdir to its working directory by path (setns puts it at
// the root; our views keep every path of this machine's where it is). A
// process in any other namespace is not moved (wantFor).

// nsViews are the two sides a process can be moved to, as the plugin's fds.
type nsViews struct {
	host, view nsSide
}

type nsSide struct {
	mnt, uts *os.File
	id       string // the mount namespace's link text, "mnt:[N]"
}

// nsWant is where a process must be: nsStay (no view, or already there),
// nsHost or nsView.
type nsWant uint8

const (
	nsStay nsWant = iota
	nsHost
	nsView
)

// openViews keeps the plugin's namespaces and the view's (those of pid,
// the program in its view) for later moves.
func openViews(pid int) (*nsViews, error) {
	side := func(dir string) (nsSide, error) {
		var s nsSide
		var err error
		if s.id, err = os.Readlink(dir + "/ns/mnt"); err != nil {
			return s, err
		}
		if s.mnt, err = os.Open(dir + "/ns/mnt"); err != nil {
			return s, err
		}
		if s.uts, err = os.Open(dir + "/ns/uts"); err != nil {
			s.mnt.Close()
			return s, err
		}
		return s, nil
	}
	host, err := side("/proc/self")
	if err != nil {
		return nil, err
	}
	view, err := side("/proc/" + strconv.Itoa(pid))
	if err != nil {
		host.close()
		return nil, err
	}
	return &nsViews{host: host, view: view}, nil
}

func (s nsSide) close() {
	s.mnt.Close()
	s.uts.Close()
}

func (v *nsViews) close() {
	if v != nil {
		v.host.close()
		v.view.close()
	}
}

// wantFor is where a process that just exec'd as mode must be moved. Only
// a process in one of the two sides is moved: one in any other mount
// namespace (unshare -m, nsenter -m into a container) chose it, and keeps
// it, as it would without the plugin (moved back, its own mounts would land
// in the view, or on this machine for a native one). A native process whose
// working directory exists only in the view (a pod path) stays there too:
// moved out it would start at the root, and so would what it runs.
func (v *nsViews) wantFor(pid int, mode Mode) nsWant {
	if v == nil {
		return nsStay
	}
	proc := "/proc/" + strconv.Itoa(pid)
	id, err := os.Readlink(proc + "/ns/mnt")
	if err != nil || (id != v.host.id && id != v.view.id) {
		return nsStay
	}
	if mode != Native {
		if id == v.view.id {
			return nsStay
		}
		return nsView
	}
	if id == v.host.id {
		return nsStay
	}
	// The plugin runs in this machine's namespaces: what it sees at the
	// path is what the process would see moved out.
	if cwd, err := os.Readlink(proc + "/cwd"); err != nil || !isDir(cwd) {
		return nsStay
	}
	return nsHost
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// startNSSwitch moves th's process as its nsSwitch says, at the syscall-
// entry stop th is at; that syscall then runs again, in the new place.
// Precondition: on the tracer's thread; th is at a syscall-entry stop.
func (e *ptraceEngine) startNSSwitch(th *thread, saved regs) {
	side := e.views.view
	if th.proc.nsSwitch == nsHost {
		side = e.views.host
	}
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(th.proc.pid) + "/cwd")
	if err != nil {
		e.switchFailed(th, "its working directory", err)
		return
	}
	self := "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/"
	strs := []string{self + strconv.Itoa(int(side.mnt.Fd())), self + strconv.Itoa(int(side.uts.Fd())), cwd}
	e.mmapScratch(th, saved, e.switchFailed, func(slot taddr) {
		var buf []byte
		var at []uint64
		for _, s := range strs {
			if len(buf)+len(s)+1 > slotSize {
				e.switchFailed(th, "write paths", unix.ENAMETOOLONG)
				return
			}
			at = append(at, uint64(slot)+uint64(len(buf)))
			buf = append(append(buf, s...), 0)
		}
		if err := writeMem(th.tid, slot, buf); err != nil {
			e.switchFailed(th, "write paths", err)
			return
		}
		e.enterNS(th, saved, at[0], unix.CLONE_NEWNS, func() {
			e.enterNS(th, saved, at[1], unix.CLONE_NEWUTS, func() {
				e.chdirBack(th, saved, at[2], cwd)
			})
		})
	})
}

// enterNS runs open(path at pathAt), setns(fd, kind), close(fd); then next.
// Precondition: on the tracer's thread, in an exit-stop callback.
func (e *ptraceEngine) enterNS(th *thread, saved regs, pathAt uint64, kind int, next func()) {
	atFDCWD := uint64(unix.AT_FDCWD & 0xffffffff)
	e.injectNext(th, saved, "open a namespace", unix.SYS_OPENAT, []uint64{atFDCWD, pathAt, unix.O_RDONLY | unix.O_CLOEXEC}, func(fd int64) {
		e.injectNext(th, saved, "setns", unix.SYS_SETNS, []uint64{uint64(fd), uint64(kind)}, func(int64) {
			e.injectNext(th, saved, "close", unix.SYS_CLOSE, []uint64{uint64(fd)}, func(int64) { next() })
		})
	})
}

// chdirBack puts the process back in its working directory by path, then
// has its first syscall run again. A directory the other side lacks (a pod
// path) leaves it at the root, as a deleted working directory would.
// Precondition: on the tracer's thread, in an exit-stop callback.
func (e *ptraceEngine) chdirBack(th *thread, saved regs, pathAt uint64, cwd string) {
	r := saved
	r.callAgain(unix.SYS_CHDIR, pathAt)
	if err := setRegs(th.tid, &r); err != nil {
		e.switchFailed(th, "set registers", err)
		return
	}
	th.passEntry = true
	th.atExit = func(th *thread) {
		var out regs
		if getRegs(th.tid, &out) == nil && out.ret() < 0 {
			e.log.Info("a process moved between views has no working directory there", zap.Int("pid", th.proc.pid), zap.String("dir", cwd))
		}
		th.atExit = nil
		th.proc.nsSwitch = nsStay
		e.stats.ViewMoves++
		again := saved
		again.rearm()
		if err := setRegs(th.tid, &again); err != nil {
			e.switchFailed(th, "restore registers", err)
		}
	}
}

// switchFailed kills a process that could not be moved: an intercepted one
// would see this machine's files with no stop to serve the pod's.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) switchFailed(th *thread, step string, err error) {
	e.log.Error("cannot move the process between the mount view and this machine's namespaces; it is killed",
		zap.Int("pid", th.proc.pid), zap.String("step", step), zap.Error(err))
	th.atExit = nil
	_ = unix.Kill(th.proc.pid, unix.SIGKILL)
}
