package tracer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer/internal/launcher"
)

// The ptrace engine serves every process started under the tracer: it
// seizes the launcher, follows each thread, fork, vfork, clone and exec,
// puts the filter into the processes that need it (ptrace_inject.go), and
// stops each of their intercepted calls at its seccomp stop
// (ptrace_stops.go), where the Handler's verdict is applied to the
// thread's registers and memory. All of it runs on the tracer's one locked
// OS thread: the Handler is asked there too.

const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_EXITKILL

// ptraceEngine is the ptrace engine's state. Every field is the tracer's
// thread's but resumeQueue, which any goroutine sends on (Call.Resume).
type ptraceEngine struct {
	cfg   Config
	log   *zap.Logger
	calls *decider
	// notif serves the debuggees this engine hands over (ptrace_handoff.go)
	// and, when hybrid, the calls of the processes it filters (ptrace_hybrid.go).
	notif  *notifEngine
	hybrid bool

	rootPID int
	threads map[int]*thread
	early   map[int]bool // tasks whose first stop came before their parent's clone event
	stats   Stats
	page    [pageSize]byte // scratch for reading paths

	// filters are what processes get at their exec: allFilters, or the
	// mount view's once the launcher has made it (viewReport).
	filters    *filterSet
	viewReport *os.File // the launcher's answer to the plan; nil once read
	views      *nsViews // under the mount view: where processes are moved

	holds       int // threads waiting for Resume
	resumeQueue chan resume
	status      Status // how the program (rootPID) ended
}

// resume is a verdict for a held call, on its way to the tracer's thread.
type resume struct {
	call *Call
	v    Verdict
}

// ptraceStop is where a call waits in the ptrace engine: its thread,
// stopped at its seq'th seccomp stop.
type ptraceStop struct {
	e   *ptraceEngine
	th  *thread
	seq uint64
}

// resume hands the verdict to the tracer's thread, which applies it
// (onResume). Any goroutine.
func (s *ptraceStop) resume(c *Call, v Verdict) { s.e.resumeQueue <- resume{call: c, v: v} }

func newPtraceEngine(cfg Config, log *zap.Logger, calls *decider, notif *notifEngine, hybrid bool) *ptraceEngine {
	return &ptraceEngine{cfg: cfg, log: log, calls: calls, notif: notif, hybrid: hybrid,
		threads: map[int]*thread{}, early: map[int]bool{}, resumeQueue: make(chan resume, 64), filters: allFilters}
}

// start runs the launcher and seizes it.
// Precondition: on the tracer's thread.
func (e *ptraceEngine) start(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer goW.Close()
	cmd := exec.Command(self, append([]string{"--"}, e.cfg.Args...)...)
	cmd.Args[0] = e.cfg.Args[0]
	env := e.cfg.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string{}, env...), launcher.Env+"="+path)
	cmd.Dir = e.cfg.Dir
	cmd.ExtraFiles = []*os.File{goR}
	plan := e.cfg.Mounts.encode()
	if plan == nil && e.cfg.Mounts != nil && e.cfg.Mounts.Required {
		goR.Close()
		return fmt.Errorf("--fs-view mount: too many mounts for the launcher's plan; use --fs-view stops")
	}
	var reportW *os.File
	if plan != nil {
		if e.viewReport, reportW, err = os.Pipe(); err != nil {
			goR.Close()
			return err
		}
		defer reportW.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, reportW) // launcher.ReportFD
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.cfg.Stdin, e.cfg.Stdout, e.cfg.Stderr
	if err := cmd.Start(); err != nil {
		goR.Close()
		return fmt.Errorf("start launcher: %w", err)
	}
	goR.Close()
	pid := cmd.Process.Pid
	// os/exec must not reap it: the tracer's wait4(-1) does.
	_ = cmd.Process.Release()
	// The options go with the seize: PTRACE_SETOPTIONS would need a stopped tracee.
	if _, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, ptraceOptions, 0, 0); errno != 0 {
		_ = unix.Kill(pid, unix.SIGKILL)
		_, _ = unix.Wait4(pid, nil, 0, nil)
		return &TraceError{PID: pid, Err: os.NewSyscallError("ptrace(PTRACE_SEIZE)", errno)}
	}
	e.rootPID = pid
	// Our own launcher runs native until it execs the program.
	e.threads[pid] = &thread{tid: pid, proc: &process{pid: pid, mm: newAddrSpace(), mode: Native}}
	// The plan fits the pipe's buffer (checked by encode); closing goW
	// lets the launcher go on.
	if _, err := goW.Write(plan); err != nil {
		return fmt.Errorf("the mount view's plan: %w", err)
	}
	return nil
}

// isLauncher reports whether pid runs our launcher (its environment, as it
// exec'd, carries the marker).
func isLauncher(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return bytes.HasPrefix(env, []byte(launcher.Env+"=")) || bytes.Contains(env, []byte("\x00"+launcher.Env+"="))
}
