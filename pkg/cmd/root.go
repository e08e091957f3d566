// Package cmd is the plugin's command tree: one Options struct per command,
// flags bound in AddFlags, then Complete, Validate and Run.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// ExitError carries a program's exit code through the command tree without
// printing anything more.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Logging is what main built for the commands: the logger and the level
// -v sets, and the tracer's engine (main reads MIRROR_TRACER_ENGINE; the
// zero Engine is the default, hybrid).
type Logging struct {
	Logger *zap.Logger
	Level  zap.AtomicLevel
	Engine tracer.Engine
}

// NewRootCommand builds `kubectl mirror` and its subcommands.
func NewRootCommand(streams genericiooptions.IOStreams, logging Logging) *cobra.Command {
	kube := genericclioptions.NewConfigFlags(true)
	if logging.Logger == nil {
		logging = Logging{Logger: zap.NewNop(), Level: zap.NewAtomicLevel()}
	}
	var verbosity int
	root := &cobra.Command{
		Use:   "kubectl mirror",
		Short: "Run a local program as if it lived inside a pod",
		Long: `kubectl mirror runs a program on your machine as if it were inside a pod of a
workload: its outgoing connections and DNS leave from the pod's network, it sees the
pod's environment and mounted files, and traffic reaching the pod can be mirrored or
stolen to it. Interception is done with ptrace and seccomp, so static Go binaries,
'go run', and any language runtime work unchanged.`,
		Example: `  # Show the plugin's version and the agent image it uses
  kubectl mirror version`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(*cobra.Command, []string) {
			quietKlog(verbosity)
			switch {
			case verbosity >= 2:
				logging.Level.SetLevel(zap.DebugLevel)
			case verbosity == 1:
				logging.Level.SetLevel(zap.InfoLevel)
			}
		},
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl mirror"},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	kube.AddFlags(root.PersistentFlags())
	root.PersistentFlags().IntVarP(&verbosity, "verbosity", "v", 0, "log detail on stderr: 1 the session's steps, 2 every decision")
	root.AddCommand(NewVersionCommand(streams))
	root.AddCommand(NewRunCommand(streams, kube, logging))
	root.AddCommand(NewDlvCommand(streams, kube, logging))
	root.AddCommand(NewTraceCommand(streams, logging))
	root.AddCommand(NewConfigCommand(streams))
	root.AddCommand(NewLsCommand(streams, kube))
	root.AddCommand(NewDoctorCommand(streams, kube, logging.Logger))
	root.AddCommand(NewPortForwardCommand(streams, kube, logging.Logger))
	root.AddCommand(NewCompletionCommand(streams))
	addCompletions(root, kube)
	return root
}

// Execute runs the command tree with args and returns the process exit code.
// Errors are printed as one line; a program's own exit code passes through.
func Execute(ctx context.Context, streams genericiooptions.IOStreams, args []string, logging Logging) int {
	root := NewRootCommand(streams, logging)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var exit *ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.Code
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// Ctrl-C (or SIGTERM) before the program started: nothing to report
		// but that, and the shell's code for an interrupt.
		fmt.Fprintln(streams.ErrOut, "kubectl mirror: interrupted before the program started")
		return 130
	default:
		fmt.Fprintf(streams.ErrOut, "error: %v\n", err)
		return 1
	}
}

// options is a command's state in kubectl's Complete, Validate, Run shape.
type options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// completeValidateRun is the RunE of a command with options o.
func completeValidateRun(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}

// quietKlog keeps client-go's own log lines (retries, "Unhandled Error")
// off the terminal: errors reach the user once, as the command's one line.
// -v 3 and up let them through, for debugging the client itself.
func quietKlog(verbosity int) {
	if verbosity >= 3 {
		return
	}
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
}
