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
// syscall, injected through that syscall's own instruction (ptrace_inject.go), and
// its children inherit it. A Native one (a build tool) runs unfiltered and
// stops only at fork, clone and exec, so each program it runs decides again.
// A Launcher (a shell) runs unfiltered too but is stepped with PTRACE_SYSCALL:
// its own calls are decided as the filter would stop them (ptrace_stepped.go), and
// its children decide at their exec. A filter can never be removed, so a
// build tool run by an intercepted program runs under the inherited filter,
// its calls let through without asking the Handler.
//
// A Debugger (dlv, gdb) runs native, and the child it forks to debug is
// handed over at its PTRACE_TRACEME: it gets the filter with
// RET_USER_NOTIF, the tracer keeps the filter's listener and detaches, and
// from then on its calls (and its children's) wait in the kernel while the
// same Handler decides them (ptrace_handoff.go, notif_engine.go); what a verdict
// rewrites is made by the tracer for the program instead (notif_emulate*.go).
// Handlers do not know which engine asks them; both ask one call at a time.
//
// Every ptrace request is made from one locked OS thread, which also waits for
// the stops itself; only while a call is held for a decision made elsewhere
// (Hold, then Call.Resume from another goroutine) does a helper goroutine wait
// instead, so a Resume can wake that thread. Functions that must run on it say
// so in a "Precondition:" line. The process that uses this package must not
// start other child processes while a trace runs: the tracer reaps any child
// (wait4(-1)).
//
// Files: ptrace_stops.go serves the seccomp stops and applies verdicts; filter.go
// builds the BPF program and ptrace_inject.go puts it into a process; mem.go reads and
// writes the tracee's memory; syscalls.go lists what stops and decode.go reads
// a stop's arguments; features.go says what the kernel offers.
package tracer
