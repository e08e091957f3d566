package tracer

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
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
	// Engine serves the intercepted calls; the zero Engine is EngineHybrid.
	Engine Engine
	// Mounts, when set, makes the program's file view by its namespaces
	// (mountview.go): its file calls then never stop.
	Mounts *MountView
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

// ErrNotExecutable is returned when the program is a file without
// permission to run it (a script missing chmod +x, a source file).
var ErrNotExecutable = errors.New("program not executable")

// Tracer is one traced program. Create it with Start; Wait for its end.
//
// Two engines serve the program's intercepted calls, and one decider asks
// the Handler about them for both (decide.go): the ptrace engine follows
// every process started under the tracer (ptrace_engine.go), and serves
// their calls under EnginePtrace; the notification engine serves the
// processes handed over to a debugger, and under EngineHybrid the calls of
// every filtered process but chdir and those that change the file system
// (notif_engine.go). Each Call belongs to the engine it waits in
// (Call.stop), which carries out its verdict.
type Tracer struct {
	ctx     context.Context
	ptrace  *ptraceEngine
	notif   *notifEngine
	started chan error
	done    chan struct{}
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
	// the calls it served (the debuggees', and under the hybrid engine the
	// intercepted programs'), Emulated of them made here on their behalf.
	Handoffs, Notifications, Emulated int
	// NotifyInstalls: processes given the hybrid engine's filter, whose
	// calls are notified; PtraceFallbacks: processes the hybrid engine
	// could not serve so (their calls stop under ptrace); NativeNotified:
	// notified calls of native programs under an inherited filter, let
	// through unasked (NativeStops counts their ptrace stops).
	NotifyInstalls, PtraceFallbacks, NativeNotified int
	// LauncherGates: launchers given a filter gated by their own code's
	// addresses, no longer stepped.
	LauncherGates int
	// CloseWatches: filters that stop close and shutdown of one listening
	// fd, put into a process at its listen.
	CloseWatches int
	// MountView: the program ran in the mount view (Config.Mounts); else
	// MountViewRefused says why not, when one was asked for.
	MountView        bool
	MountViewRefused string
	// ViewMoves: processes moved out of the mount view (native ones) or
	// back into it at their exec.
	ViewMoves int
}

// Start runs the program under the tracer. The program is killed when ctx ends.
func Start(ctx context.Context, cfg Config) (*Tracer, error) {
	path, err := lookPath(cfg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	calls := newDecider(cfg)
	notif := newNotifEngine(log, calls)
	hybrid := cfg.Engine == EngineHybrid
	if hybrid {
		if err := hybridSupport(); err != nil {
			log.Info("the hybrid engine cannot run here: every intercepted call stops under ptrace", zap.Error(err))
			hybrid = false
		}
	}
	t := &Tracer{
		ctx:     ctx,
		ptrace:  newPtraceEngine(cfg, log, calls, notif, hybrid),
		notif:   notif,
		started: make(chan error, 1),
		done:    make(chan struct{}),
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
func (t *Tracer) PID() int { return t.ptrace.rootPID }

// Wait blocks until the program and every process it started have ended.
func (t *Tracer) Wait() (Status, error) {
	<-t.done
	return t.ptrace.status, nil
}

// Stats returns the counters; valid after Wait.
func (t *Tracer) Stats() Stats {
	s := t.ptrace.stats
	s.Notifications, s.Emulated = int(t.notif.notifications.Load()), int(t.notif.emulated.Load())
	s.NativeNotified = int(t.notif.nativeNotified.Load())
	return s
}

func lookPath(cfg Config) (string, error) {
	if cfg.Path == "" || len(cfg.Args) == 0 {
		return "", fmt.Errorf("%w: no command given", ErrNotFound)
	}
	path, err := exec.LookPath(cfg.Path)
	if errors.Is(err, fs.ErrPermission) {
		return "", fmt.Errorf("%w: %s", ErrNotExecutable, cfg.Path)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s", ErrNotFound, cfg.Path)
	}
	return path, nil
}

// run is the tracer's thread: it starts the program under the ptrace
// engine and serves it until every traced task is gone, then waits for
// the debuggees the notification engine serves.
// Precondition: on the tracer's thread.
func (t *Tracer) run(path string) {
	// Every ptrace request must come from the thread that seized the tracee.
	// The goroutine never unlocks, so the thread ends with it, after the
	// last tracee.
	runtime.LockOSThread()
	defer close(t.done)
	defer func() { t.ptrace.views.close() }()
	if err := t.ptrace.start(path); err != nil {
		t.started <- err
		return
	}
	t.started <- nil
	t.ptrace.loop(t.ctx)
	// A debuggee handed over is not ours to wait for: its listener ends
	// when it and every process it started are gone.
	stop := context.AfterFunc(t.ctx, t.notif.killAll)
	t.notif.wait()
	stop()
}
