// Package tracer runs a program under ptrace with a seccomp-bpf filter, so that
// only the syscalls its Handler cares about stop, and lets the Handler decide
// what each of them does: go through, fail with an errno, have its sockaddr or
// path argument rewritten, have its result fixed up at syscall exit, or wait
// while the decision is made elsewhere (the other threads keep running).
//
// Everything else runs at native speed: the filter returns SECCOMP_RET_ALLOW for
// all other syscalls, and the kernel caches that verdict per syscall number.
//
// The program is started through a launcher: the plugin's own binary re-executed
// with a marker in its environment, which waits until the tracer has seized it
// and execs the program. The tracer follows every thread, fork, vfork, clone and
// exec, never detaches (a RET_TRACE filter without a tracer fails syscalls with
// ENOSYS) and sets PTRACE_O_EXITKILL, so the program dies if the tracer does.
//
// At each exec, Config.Policy gives the process a Mode by the program it
// became (policy.go). An Intercepted program gets the filter at its first
// syscall, injected through that syscall's own instruction
// (ptrace_inject.go), and its children inherit it. A Native one (a build
// tool) runs unfiltered and stops only at fork, clone and exec, so each
// program it runs decides again. A Launcher (a shell) is stepped with
// PTRACE_SYSCALL only until its libraries are in (its calls decided as
// the filter would stop them, ptrace_stepped.go); then it gets a filter
// gated by its own code's addresses (ptrace_launcher.go, filter_gate.go),
// which stops its intercepted calls and lets every call of the programs it
// execs through, so its children decide at their exec. A filter can never be removed, so a build tool run by an
// intercepted program runs under the inherited filter, its calls let
// through without asking the Handler.
//
// # Two engines
//
// The ptrace engine (ptrace_*.go) follows every process started under the
// tracer: its forks, clones and execs, each exec's Mode. Under
// EnginePtrace it also serves every intercepted call: the call stops its
// thread at a seccomp stop, and the verdict is applied to the thread's
// registers and memory. Under EngineHybrid, the default, an intercepted
// process gets a filter that returns RET_USER_NOTIF instead, but for
// chdir, listen, connect, the socket queries and the calls that change the
// file system, which still stop under ptrace (sysInfo.keptOnPtrace); its
// listener waits through non-fatal signals once a call is received
// (notif_signals.go); the tracer takes the filter's listener
// out of the process (ptrace_hybrid.go) and the notification engine
// (notif_*.go) serves it: the calls wait in the kernel while the same
// Handler decides them, and what a verdict rewrites, or needs the result
// of, is made by the tracer for the program instead (notif_emulate*.go).
// Where the kernel cannot serve a process that way (no user notification,
// a listener its filters already hold), that process falls back to the
// ptrace engine's filter. A Debugger (dlv, gdb) runs native, and the
// child it forks to debug is handed over at its PTRACE_TRACEME to the
// notification engine and detached, so its debugger can trace it.
//
// Both engines read a call's arguments with one decoder (decode.go, driven
// by the table in syscalls.go) and ask the Handler through one decider
// (decide.go), one call at a time; a Call belongs to the engine it waits
// in (Call.stop), which carries out its verdict. Handlers do not know
// which engine asks them.
//
// # Threads and goroutines
//
// The ptrace engine makes every ptrace request from one locked OS thread,
// which also waits for the stops itself and asks the Handler there; only
// while a call is held for a decision made elsewhere (Hold, then
// Call.Resume from another goroutine) does a helper goroutine wait
// instead, so a Resume can wake that thread. Functions that must run on it
// say so in a "Precondition:" line. The notification engine makes no
// ptrace request: a goroutine per listener receives its notifications and
// asks the Handler; a call that may block (a socket's receive, send, accept
// or connect; an open of the program's own path) is made and answered on a
// goroutine of its own, and so is a held call once Resumed. The process that uses this package must not start
// other child processes while a trace runs: the tracer reaps any child
// (wait4(-1)).
//
// # Files
//
// The API and what both engines share:
//   - doc.go: this overview.
//   - tracer.go: Config, Start, Trace, Wait, Status, Stats; Tracer holds the
//     two engines and runs them.
//   - engine.go: Engine, which engine serves intercepted calls; whether
//     the hybrid engine can run here.
//   - call.go: Handler, Call and the decoded arguments (Change); Resume.
//   - call_socket.go: what a handler may ask about a call's socket
//     (SocketType, SocketName, EnsureBound, SocketInode), through a copy of
//     the program's fd.
//   - verdict.go: Verdict and its constructors (Allow, Fail, Return, Hold,
//     Redirect, ReplacePath, AtExit); VerdictPath, VerdictErrno for tests.
//   - exit.go: Exit, a returned call's result and the fix-ups on it;
//     exit_stat.go: the stat family's struct stat and statx read and rewritten.
//   - decide.go: the decider, which asks the Handler for both engines.
//   - identity.go: uname, answered with Config.Hostname.
//   - errno.go: ErrnoOr, the errno an error carries.
//   - policy.go: Mode and Policy, how each exec'd program runs.
//   - features.go, preflight.go: what the kernel offers; CheckFeatures.
//
// The syscall ABI:
//   - sysno.go: Sysno, the intercepted calls' identity, and their names.
//   - syscalls.go: the table: each call's number, class, and the role of
//     each of its arguments; the filter's two lists.
//   - arch_amd64.go, arch_arm64.go: each architecture's audit arch and the
//     numbers only some architectures have.
//   - decode.go: a call's arguments read into a Call (paths made absolute,
//     sockaddrs, what a change asks for).
//   - sockaddr.go: sockaddr_in and sockaddr_in6 to and from addresses.
//   - mem.go, mem_unsafe.go: the program's memory, read and written.
//   - filter.go: the BPF program, and the verdict it gives a call.
//   - filter_gate.go: a launcher's filter, acting only on its own code's calls.
//
// The ptrace engine:
//   - ptrace_engine.go: its state; the launcher started and seized.
//   - ptrace_loop.go: waiting for stops and resumes; signals, group stops,
//     the end of each task.
//   - ptrace_stops.go: seccomp stops: a call decided, its verdict applied,
//     exit work at the exit stop.
//   - ptrace_rewrite.go: a sockaddr or path argument rewritten in scratch
//     memory mapped into the program.
//   - ptrace_thread.go: threads, processes and their scratch memory.
//   - ptrace_tasks.go: new threads and processes, and execs.
//   - ptrace_stepped.go: launchers and processes waiting for their filter,
//     stepped from call to call.
//   - ptrace_launcher.go: a launcher's gated filter, once its loader is done.
//   - ptrace_inject.go: the filter put into a process through its own
//     syscall instruction.
//   - ptrace_handoff.go: a debugger's child handed to the notification
//     engine.
//   - ptrace_hybrid.go: the hybrid filter and its listener put into an
//     intercepted process; each thread's process and mode told to the
//     notification engine.
//   - ptrace_regs_amd64.go, ptrace_regs_arm64.go, ptrace_regs_unsafe_arm64.go:
//     a stopped thread's registers; ptrace_syscallinfo_unsafe.go: entry or
//     exit stop.
//
// The notification engine:
//   - notif_engine.go: its state; listeners served, notifications decided.
//   - notif_answer.go: a notified call answered, with an fd installed.
//   - notif_restart.go: a held call interrupted and made again, decided once.
//   - notif_members.go: the debuggees' processes, ended with the session.
//   - notif_procs.go: which process a notified call's thread belongs to,
//     and how that process runs.
//   - notif_umask.go: files created for the program under its umask.
//   - notif_emulate.go, notif_emulate_path.go, notif_emulate_socket.go,
//     notif_emulate_unsafe.go: a call made here for the program, as a
//     verdict rewrites it.
//   - notif_ioctl_unsafe.go: the kernel's seccomp notification structs and
//     ioctls.
//
// Tests run under each engine in turn (main_test.go; MIRROR_TRACER_ENGINE
// picks one): basic_test.go, programs_test.go and redirect_test.go run
// programs natively and traced; notif_test.go the same under a debugger;
// engine_test.go what tells the engines apart and the hybrid engine's
// fallback;
// signals_test.go, policy_test.go, identity_test.go, launcher_test.go and
// preflight_test.go one feature each; filter_test.go, errno_test.go and
// decode_unsafe_test.go without a tracee; main_test.go and helpers_test.go
// set them up.
package tracer
