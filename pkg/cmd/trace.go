package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/launch"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/syscalllog"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// TraceOptions runs a program under the tracer with no cluster and lists
// what a session would send to the pod.
type TraceOptions struct {
	genericiooptions.IOStreams
	JSON bool
	// The session's rules, by which "would go remote" is said.
	rules                   outgoing.Rules
	localHosts, remoteHosts []outgoing.HostRule
	fsMode                  string
	fsRemote, fsLocal       []string
	processes               processRules
	config                  string
	Command                 []string
	logger                  *zap.Logger
	engine                  tracer.Engine
}

// NewTraceOptions returns the defaults.
func NewTraceOptions(streams genericiooptions.IOStreams, logger *zap.Logger) *TraceOptions {
	return &TraceOptions{IOStreams: streams, logger: logger}
}

// NewTraceCommand builds `kubectl mirror trace`.
func NewTraceCommand(streams genericiooptions.IOStreams, logging Logging) *cobra.Command {
	o := NewTraceOptions(streams, logging.Logger)
	o.engine = logging.Engine
	c := &cobra.Command{
		Use:   "trace [--json] [--local ...] [--remote ...] [--fs-mode ...] [--fs-remote ...] [--fs-local ...] -- COMMAND [ARGS...]",
		Short: "Run a program under the tracer, without a cluster, and list what would go to the pod",
		Long: `Run COMMAND under kubectl mirror's tracer with no cluster involved. Every intercepted
syscall is printed to stderr with its result (connections, datagrams, listening sockets,
file lookups), marked remote when 'kubectl mirror run' with the same --local, --remote and
--fs-* flags would send it to the pod; a summary closes the list. With no cluster, host names
in --local/--remote are resolved by this machine, and the pod's ConfigMap and Secret mounts are
unknown (name them with --fs-remote). The exit code is COMMAND's.`,
		Example: `  # What would my program connect to, and which files would it read from the pod?
  kubectl mirror trace -- go run .

  # JSON lines, for scripts
  kubectl mirror trace --json -- curl -s http://example.internal/`,
		RunE: completeValidateRun(o),
	}
	o.AddFlags(c.Flags())
	return c
}

// AddFlags binds the command's flags.
func (o *TraceOptions) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.JSON, "json", false, "print events and the summary as JSON lines")
	addRuleFlags(fs, sessionRules{Local: &o.rules.Local, Remote: &o.rules.Remote, LocalHosts: &o.localHosts, RemoteHosts: &o.remoteHosts,
		FSMode: &o.fsMode, FSRemote: &o.fsRemote, FSLocal: &o.fsLocal, Processes: &o.processes})
	fs.StringVar(&o.config, "config", "", "the project file whose rules (outgoing, files, processes) to report by (default: "+projectfile.Name+" found from here up)")
}

// Complete takes the command after "--".
func (o *TraceOptions) Complete(cmd *cobra.Command, args []string) error {
	if cmd.ArgsLenAtDash() > 0 {
		return fmt.Errorf("unexpected arguments before --: %v; usage: kubectl mirror trace -- COMMAND [ARGS...]", args[:cmd.ArgsLenAtDash()])
	}
	o.Command = args
	project, err := loadProjectFile(o.config)
	if err != nil || project == nil {
		return err
	}
	fmt.Fprintf(o.ErrOut, "kubectl mirror trace: rules from %s\n", project.Path)
	_, err = applyProjectFile(cmd, project, true)
	return err
}

// Validate checks there is a command.
func (o *TraceOptions) Validate() error {
	if len(o.Command) == 0 {
		return errors.New("no command given; usage: kubectl mirror trace -- COMMAND [ARGS...]")
	}
	return o.processes.checkTracing(o.Command)
}

// Run traces the command and passes its exit code on.
func (o *TraceOptions) Run(ctx context.Context) error {
	rules, err := o.hostsResolvedHere(ctx)
	if err != nil {
		return err
	}
	files := remotefiles.NewMatcher(o.fsMode, o.fsRemote, o.fsLocal, o.Command[0])
	var mu sync.Mutex
	rec := &syscalllog.Recorder{RemoteAddr: rules.IsRemote, RemotePath: files.Remote, Sink: func(ev syscalllog.Event) {
		mu.Lock()
		defer mu.Unlock()
		if o.JSON {
			syscalllog.WriteJSON(o.ErrOut, ev)
		} else {
			syscalllog.WriteText(o.ErrOut, ev)
		}
	}}
	status, err := launch.Run(ctx, tracer.Config{
		Path: o.Command[0], Args: o.Command,
		Stdin: fileOr(o.In, os.Stdin), Stdout: fileOr(o.Out, os.Stdout), Stderr: fileOr(o.ErrOut, os.Stderr),
		Handler: rec,
		Policy:  o.processes.policy(),
		OnExec:  rec.Exec,
		Engine:  o.engine,
		Logger:  o.logger,
	})
	if err != nil {
		return err
	}
	mu.Lock()
	if o.JSON {
		syscalllog.WriteJSONSummary(o.ErrOut, rec.Summary(), status.ExitCode(), status.String())
	} else {
		fmt.Fprintf(o.ErrOut, "kubectl mirror trace: %s\n", status)
		syscalllog.WriteSummary(o.ErrOut, rec.Summary())
	}
	mu.Unlock()
	if code := status.ExitCode(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// hostsResolvedHere completes the address rules with the host rules,
// resolved by this machine (run resolves --remote hosts in the pod).
func (o *TraceOptions) hostsResolvedHere(ctx context.Context) (outgoing.Rules, error) {
	return o.rules.Resolve(ctx, o.localHosts, o.remoteHosts, outgoing.LookupHere, outgoing.LookupHere)
}

// fileOr returns v as a file when it is one (the program gets the real fd,
// so terminals stay terminals), else def.
func fileOr(v any, def *os.File) *os.File {
	if f, ok := v.(*os.File); ok {
		return f
	}
	return def
}
