package cmd

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// sessionRules are the session's rules, which `run` follows and `trace`
// reports by: where connections go and which files come from the pod. The
// two commands bind the same flags to them (run: in its run.Config).
type sessionRules struct {
	Local, Remote           *[]outgoing.Rule
	LocalHosts, RemoteHosts *[]outgoing.HostRule
	FSMode                  *string
	FSRemote, FSLocal       *[]string
	Processes               *processRules
}

// processRules are the flags that decide which programs run native.
type processRules struct {
	buildTools bool     // --skip-build-tools
	extra      []string // --skip-process
}

// policy is the tracer's Policy the flags ask for. With build tools not
// skipped every program is intercepted, as before skipping existed, unless
// some are named: they still run native, and shells are stepped so that
// their children can.
// checkTracing refuses, in one line, a run this system cannot trace (a
// container's seccomp profile, an old kernel), or a debugger this kernel
// cannot hand its program to.
func (p processRules) checkTracing(command []string) error {
	debugger := len(command) > 0 && p.policy().ModeOf(command[0], filepath.Base(command[0])) == tracer.Debugger
	if debugger {
		if err := tracer.NotifySupport(); err != nil {
			return fmt.Errorf("%w: run %s without kubectl mirror, or on a newer kernel", err, filepath.Base(command[0]))
		}
	}
	return tracer.CheckFeatures(debugger)
}

func (p processRules) policy() tracer.Policy {
	switch {
	case p.buildTools:
		return tracer.DefaultPolicy(p.extra...)
	case len(p.extra) > 0:
		return tracer.Policy{Skip: p.extra, Launchers: tracer.DefaultLaunchers, Debuggers: tracer.DefaultDebuggers}
	}
	// A debugger can trace its program only when it is handed over.
	return tracer.Policy{Debuggers: tracer.DefaultDebuggers}
}

func addRuleFlags(fs *pflag.FlagSet, r sessionRules) {
	if *r.FSMode == "" {
		*r.FSMode = "remote"
	}
	fs.Var(ruleValue{"local", r.Local, r.LocalHosts}, "local", "keep destinations local: CIDR, address, host or :PORT, optionally with :PORT (repeatable)")
	fs.Var(ruleValue{"remote", r.Remote, r.RemoteHosts}, "remote", "send only these destinations through the pod: CIDR, address, host or :PORT (repeatable)")
	fs.Var(choiceValue[string]{r.FSMode, []string{"remote", "local", "all"}}, "fs-mode", "remote: read the pod's default files and config mounts; local: only --fs-remote paths; all: every path but the program's own, the system's libraries and tools, home, cwd and /tmp (on first use)")
	fs.Var(pathValue{r.FSRemote}, "fs-remote", "also read this path (file or directory, optionally ending in /**) from the pod (repeatable)")
	fs.Var(pathValue{r.FSLocal}, "fs-local", "keep this path (file or directory) local even where it would be read from the pod (repeatable)")
	r.Processes.buildTools = true
	fs.BoolVar(&r.Processes.buildTools, "skip-build-tools", true, "run toolchains, compilers, linkers and git native, with this machine's network and files (go, compile, link, gcc, cargo, git, ...; see docs/usage.md); =false intercepts every program")
	fs.Var(processNameValue{&r.Processes.extra}, "skip-process", "also run this program native, by its file name or the name it runs as (repeatable)")
}
