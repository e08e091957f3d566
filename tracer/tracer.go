package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer/internal/launcher"
)

// Config is what Trace needs: the program and the handler. Libraries and the
// command fill it; the tracer never sees flags.
type Config struct {
	Path string   // program to run; looked up in PATH when it has no slash
	Args []string // argv, Args[0] included
	Env  []string // nil: the plugin's environment
	Dir  string   // working directory; "" is the current one

	Stdin, Stdout, Stderr *os.File

	Handler Handler // nil: every call is allowed
	// Hostname is the node name uname() reports (the pod's); "" leaves it.
	Hostname string
	// Domainname is the NIS domain name uname() reports; "" leaves it.
	Domainname string
	// Policy decides at each exec whether a process is intercepted, stepped
	// as a launcher or runs native; the zero Policy intercepts all.
	Policy Policy
	// OnExec, when set, is told each exec and its Mode, on the tracer's
	// thread (it must return quickly).
	OnExec func(Exec)
	Logger *zap.Logger
}

// Status is how the program ended.
type Status struct {
	Code   int            // exit code, when it exited
	Signal syscall.Signal // the signal that killed it, else 0
}

// ExitCode is the shell's view: the code, or 128+signal.
func (s Status) ExitCode() int {
	if s.Signal != 0 {
		return 128 + int(s.Signal)
	}
	return s.Code
}

func (s Status) String() string {
	if s.Signal != 0 {
		return "killed by " + unix.SignalName(s.Signal)
	}
	return fmt.Sprintf("exit status %d", s.Code)
}

// TraceError is a failure of the tracer with one task.
type TraceError struct {
	PID int
	Err error
}

func (e *TraceError) Error() string { return fmt.Sprintf("trace pid %d: %v", e.PID, e.Err) }
func (e *TraceError) Unwrap() error { return e.Err }

// ErrNotFound is returned when the program cannot be found or run.
var ErrNotFound = errors.New("program not found")

const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_EXITKILL

// Tracer is one traced program. Create it with Start; Wait for its end.
type Tracer struct {
	cfg     Config
	log     *zap.Logger
	handler Handler
	rootPID int
	threads map[int]*thread
	early   map[int]bool // tasks whose first stop came before their parent's clone event
	stats   Stats
	page    [pageSize]byte // scratch for reading paths, used on the tracer's thread only

	holds       int // threads waiting for Resume
	resumeQueue chan resume
	started     chan error
	done        chan struct{}
	status      Status
	err         error
	ctx         context.Context

	// handlerMu makes the two engines ask the Handler one call at a time.
	handlerMu sync.Mutex
	// The notification engine's listeners (notif_engine.go) and what they share.
	listeners     sync.WaitGroup
	notifyMu      sync.Mutex
	listening     map[*listener]bool
	tgids         map[int]int
	heldCalls     map[int]*Call // by thread: notified calls held for a decision
	members       map[int]int   // process -> pidfd: the debuggees' processes seen (notif_members.go)
	notifications atomic.Int64
	emulated      atomic.Int64
}

// Stats counts what the tracer did.
type Stats struct {
	SeccompStops, ExitStops, SignalStops, GroupStops int
	NewTasks, Execs, Rewrites, Failed, Injections    int
	// Execs by the Mode they got; Installs counts filters put in.
	InterceptedExecs, LauncherExecs, NativeExecs, Installs int
	// EntryStops: launchers' syscall-entry stops; NativeStops: seccomp stops
	// of native programs under an inherited filter, let through unasked.
	EntryStops, NativeStops int
	// Handoffs: debuggees handed to the notification engine; Notifications:
	// their calls it served, Emulated of them made here on their behalf.
	Handoffs, Notifications, Emulated int
}

type waitResult struct {
	pid int
	ws  unix.WaitStatus
	err error
}

type resume struct {
	call *Call
	v    Verdict
}

// Start runs the program under the tracer. The program is killed when ctx ends.
func Start(ctx context.Context, cfg Config) (*Tracer, error) {
	path, err := lookPath(cfg)
	if err != nil {
		return nil, err
	}
	t := &Tracer{
		cfg:         cfg,
		log:         cfg.Logger,
		handler:     cfg.Handler,
		threads:     map[int]*thread{},
		early:       map[int]bool{},
		listening:   map[*listener]bool{},
		tgids:       map[int]int{},
		heldCalls:   map[int]*Call{},
		members:     map[int]int{},
		resumeQueue: make(chan resume, 64),
		started:     make(chan error, 1),
		done:        make(chan struct{}),
		ctx:         ctx,
	}
	if t.log == nil {
		t.log = zap.NewNop()
	}
	if t.handler == nil {
		t.handler = allowAll{}
	}
	go t.run(path)
	if err := <-t.started; err != nil {
		return nil, err
	}
	return t, nil
}

// Trace runs the program to its end and returns how it ended.
func Trace(ctx context.Context, cfg Config) (Status, error) {
	t, err := Start(ctx, cfg)
	if err != nil {
		return Status{}, err
	}
	return t.Wait()
}

// PID is the program's process id (signals sent to it reach the program).
func (t *Tracer) PID() int { return t.rootPID }

// Wait blocks until the program and every process it started have ended.
func (t *Tracer) Wait() (Status, error) {
	<-t.done
	return t.status, t.err
}

// Stats returns the counters; valid after Wait.
func (t *Tracer) Stats() Stats {
	s := t.stats
	s.Notifications, s.Emulated = int(t.notifications.Load()), int(t.emulated.Load())
	return s
}

func lookPath(cfg Config) (string, error) {
	if cfg.Path == "" || len(cfg.Args) == 0 {
		return "", fmt.Errorf("%w: no command given", ErrNotFound)
	}
	path, err := exec.LookPath(cfg.Path)
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrNotFound, cfg.Path)
	}
	return path, nil
}

type allowAll struct{}

func (allowAll) Socket(*Call) Verdict { return Allow() }
func (allowAll) Path(*Call) Verdict   { return Allow() }

// run is the tracer's thread: it starts the launcher, seizes it and serves
// stops and resumes until every traced task is gone.
// Precondition: on the tracer's thread.
func (t *Tracer) run(path string) {
	// Every ptrace request must come from the thread that seized the tracee.
	// The goroutine never unlocks, so the thread ends with it, after the
	// last tracee.
	runtime.LockOSThread()
	defer close(t.done)
	if err := t.startLauncher(path); err != nil {
		t.started <- err
		return
	}
	t.started <- nil
	t.loop()
	// A debuggee handed over is not ours to wait for: its listener ends
	// when it and every process it started are gone.
	stop := context.AfterFunc(t.ctx, t.endHandedOff)
	t.listeners.Wait()
	stop()
	t.closeMembers()
}

// Precondition: on the tracer's thread.
func (t *Tracer) startLauncher(path string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer goW.Close()
	cmd := exec.Command(self, append([]string{"--"}, t.cfg.Args...)...)
	cmd.Args[0] = t.cfg.Args[0]
	env := t.cfg.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(append([]string{}, env...), launcher.Env+"="+path)
	cmd.Dir = t.cfg.Dir
	cmd.ExtraFiles = []*os.File{goR}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = t.cfg.Stdin, t.cfg.Stdout, t.cfg.Stderr
	if err := cmd.Start(); err != nil {
		goR.Close()
		return fmt.Errorf("start launcher: %w", err)
	}
	goR.Close()
	pid := cmd.Process.Pid
	// os/exec must not reap it: the tracer's wait4(-1) does.
	_ = cmd.Process.Release()
	// The options go with the seize: PTRACE_SETOPTIONS would need a stopped tracee.
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, ptraceOptions, 0, 0); e != 0 {
		_ = unix.Kill(pid, unix.SIGKILL)
		_, _ = unix.Wait4(pid, nil, 0, nil)
		return &TraceError{PID: pid, Err: os.NewSyscallError("ptrace(PTRACE_SEIZE)", e)}
	}
	t.rootPID = pid
	// Our own launcher runs native until it execs the program.
	t.threads[pid] = &thread{tid: pid, proc: &process{pid: pid, mm: newAddrSpace(), mode: Native}}
	return nil // closing goW lets the launcher exec
}
