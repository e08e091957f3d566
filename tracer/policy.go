package tracer

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Mode is how the tracer runs one process, decided at each exec by the
// program it became.
type Mode int

const (
	// Intercepted: the process carries the seccomp filter; its calls in
	// syscalls.go stop and the Handler decides them. Its children inherit
	// the filter (a filter can never be removed).
	Intercepted Mode = iota + 1
	// Launcher: a shell or launcher with no filter, stepped syscall by
	// syscall (PTRACE_SYSCALL); its own calls are decided like Intercepted
	// ones, and each child it runs is decided at the child's exec.
	Launcher
	// Native: a build tool; it runs with this machine's network and files.
	// With no filter it never stops but for fork, clone and exec; under a
	// filter inherited from an intercepted parent its calls are let through
	// without asking the Handler.
	Native
	// Debugger: runs native like a build tool; the program it starts under
	// its own ptrace (the child that calls PTRACE_TRACEME) is handed from
	// ptrace to the notification engine before that call, so the debugger
	// can trace it while the Handler still decides its calls (ptrace_handoff.go).
	Debugger
	// Debuggee is no Policy's answer: a Debugger's child handed to the
	// notification engine, told to Config.OnExec when it is (before it
	// execs the program, which is then its debugger's to follow).
	Debuggee
)

func (m Mode) String() string {
	switch m {
	case Intercepted:
		return "intercepted"
	case Launcher:
		return "launcher"
	case Native:
		return "native"
	case Debugger:
		return "debugger"
	case Debuggee:
		return "debuggee"
	}
	return "mode" + strconv.Itoa(int(m))
}

// DefaultSkip lists the programs that run native: toolchains, compilers,
// linkers, version control and debuggers. They fetch modules, crates and
// repositories from this machine's network and build from its files; their
// edit-run loop must cost what it costs without kubectl mirror.
var DefaultSkip = []string{
	// Go: the go command and the tools it runs.
	"go", "gofmt", "compile", "link", "asm", "cgo", "vet", "buildid", "pack", "cover", "test2json", "gopls",
	// C and C++ toolchains (cgo, native extensions).
	"gcc", "g++", "cc", "c++", "cpp", "cc1", "cc1plus", "cc1obj", "collect2", "lto-wrapper", "as", "ld", "ld.bfd",
	"ld.gold", "ld.lld", "lld", "mold", "clang", "clang++", "ar", "ranlib", "strip", "pkg-config",
	// Rust.
	"rustc", "cargo", "rustup", "rustdoc", "cargo-watch",
	// Version control, as the module and crate fetchers run it.
	"git", "git-remote-http", "git-remote-https", "ssh", "hg", "svn", "bzr", "fossil", "gpg",
}

// DefaultDebuggers lists debuggers: they trace their debuggee themselves,
// which a process can allow only one tracer to do.
var DefaultDebuggers = []string{"dlv", "gdb", "lldb", "lldb-server"}

// DefaultLaunchers lists shells and launchers: few calls of their own, and
// each program they run decides at its own exec.
var DefaultLaunchers = []string{
	"sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox", "env", "make", "gmake", "xargs", "nohup",
	"timeout", "nice", "ionice", "stdbuf", "setsid", "time", "entr", "watchexec", "flock", "chrt", "taskset",
}

// Policy decides each process's Mode by the program it execs. The zero
// Policy intercepts every process, as a tracer with no skipping does.
type Policy struct {
	Skip      []string // names of programs that run Native
	Launchers []string // names of programs that run as Launcher
	Debuggers []string // names of programs that run as Debugger
}

// DefaultPolicy skips DefaultSkip, steps DefaultLaunchers and hands the
// debuggees of DefaultDebuggers over, plus the extra names given to skip.
func DefaultPolicy(extraSkip ...string) Policy {
	return Policy{
		Skip:      append(slices.Clone(DefaultSkip), extraSkip...),
		Launchers: slices.Clone(DefaultLaunchers),
		Debuggers: slices.Clone(DefaultDebuggers),
	}
}

// ModeOf says how a program runs, by its executable's base name or the name
// it was started as (its comm: a script's own name, busybox's applet):
// either one named in Skip makes it Native, then Debuggers make it
// Debugger, Launchers make it Launcher, and everything else is Intercepted.
func (p Policy) ModeOf(exe, comm string) Mode {
	names := []string{filepath.Base(exe), comm}
	switch {
	case matchAny(p.Skip, names):
		return Native
	case matchAny(p.Debuggers, names):
		return Debugger
	case matchAny(p.Launchers, names):
		return Launcher
	}
	return Intercepted
}

// matchAny reports whether one of names is in list. The kernel cuts a
// comm to 15 bytes, so a long name also matches its cut form.
func matchAny(list, names []string) bool {
	for _, want := range list {
		for _, n := range names {
			if n != "" && (n == want || len(n) == maxComm && strings.HasPrefix(want, n)) {
				return true
			}
		}
	}
	return false
}

// maxComm is TASK_COMM_LEN minus the NUL.
const maxComm = 15

// procNames reads what a process just exec'd: its executable and comm.
func procNames(pid int) (exe, comm string) {
	dir := "/proc/" + strconv.Itoa(pid)
	exe, _ = os.Readlink(dir + "/exe")
	if b, err := os.ReadFile(dir + "/comm"); err == nil {
		comm = strings.TrimSuffix(string(b), "\n")
	}
	return exe, comm
}

// Exec tells Config.OnExec that a process ran a program and how it runs.
type Exec struct {
	PID  int
	Path string // the executable (a script's interpreter)
	Name string // the name it runs as (comm)
	Mode Mode
}
