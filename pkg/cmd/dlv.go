package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
)

// DlvOptions stands in for Delve where an IDE starts it: `kubectl mirror
// dlv -- ARGS` is `kubectl mirror run -- dlv ARGS`, with the target and
// settings from the project file, since the IDE passes dlv's own arguments
// only.
type DlvOptions struct {
	*RunOptions
	dlv    string   // --dlv, then the Delve found
	direct []string // dlv's argv when no program runs (version, help, ...): no session
}

// NewDlvCommand builds `kubectl mirror dlv`.
func NewDlvCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logging Logging) *cobra.Command {
	o := &DlvOptions{RunOptions: NewRunOptions(streams, kube, logging.Logger)}
	o.cfg.Engine = logging.Engine
	c := &cobra.Command{
		Use:   "dlv [TARGET] -- DLV_ARGS...",
		Short: "Run Delve under run, for IDEs: a drop-in dlv whose program lives in a pod of TARGET",
		Long: `Run Delve (dlv DLV_ARGS...) as 'kubectl mirror run TARGET -- dlv DLV_ARGS...' does: the program
Delve starts, builds or tests gets the pod's network, DNS, environment and files, while Delve and
the go command run native. Every flag of run is taken, and TARGET and the settings come from
` + projectfile.Name + ` found from the working directory when not given, so an IDE that starts
'dlv dap ...' or 'dlv exec ...' with its own arguments can start this instead: point it at the
one-line wrapper hack/mirror-dlv (in the release archive), which runs 'kubectl-mirror dlv -- "$@"'
(VS Code: "go.alternateTools": {"dlv": "/path/to/mirror-dlv"}; GoLand: dlv.path; see
docs/debugging.md).

Delve is --dlv, else the first dlv on PATH that is a program and not a script (the wrapper may be
named dlv itself), else $GOBIN/dlv, else $GOPATH/bin/dlv (where 'go install' puts it). A log
destination that is a file descriptor (VS Code's --log-dest=3, where it waits for "DAP server
listening at:") becomes stdout, the program's only descriptors under the tracer being 0, 1 and 2.
'dlv version', 'help', 'completion', 'connect' and 'core' start no program and run Delve
directly, without a session.`,
		Example: `  # What VS Code's Go extension starts, with .kubectl-mirror.yaml naming the target
  kubectl mirror dlv -- dap --listen=127.0.0.1:38697 --log-dest=3

  # A headless server for GoLand's "Go Remote" configuration, against a pod of deploy/api
  kubectl mirror dlv deploy/api -- debug ./cmd/api --headless --listen=127.0.0.1:2345 --api-version=2`,
		RunE: completeValidateRun(o),
	}
	o.AddFlags(c.Flags())
	c.Flags().StringVar(&o.dlv, "dlv", "", "the Delve binary, a file named dlv (default: the first dlv program on PATH, else in $GOBIN or $GOPATH/bin)")
	return c
}

// Complete finds Delve and makes its command line the program of a run.
func (o *DlvOptions) Complete(cmd *cobra.Command, args []string) error {
	dash := cmd.ArgsLenAtDash()
	if dash < 0 {
		return errors.New("put dlv's arguments after --: kubectl mirror dlv [TARGET] -- dap --listen=127.0.0.1:2345")
	}
	dlv, err := findDlv(o.dlv)
	if err != nil {
		return err
	}
	dlvArgs := args[dash:]
	if runsNoProgram(dlvArgs) {
		o.direct = append([]string{dlv}, dlvArgs...)
		return nil
	}
	withDlv := append(append(slices.Clone(args[:dash]), dlv), logDestToStdout(dlvArgs)...)
	return o.RunOptions.Complete(cmd, withDlv)
}

// Validate checks what run checks, unless no program runs.
func (o *DlvOptions) Validate() error {
	if o.direct != nil {
		return nil
	}
	return o.RunOptions.Validate()
}

// Run carries the session out, or becomes Delve when no program runs.
func (o *DlvOptions) Run(ctx context.Context) error {
	if o.direct != nil {
		return syscall.Exec(o.direct[0], o.direct, os.Environ())
	}
	return o.RunOptions.Run(ctx)
}

// findDlv is Delve: the file --dlv names, else the first program named dlv
// on PATH, in $GOBIN or in each $GOPATH's bin. The tracer knows a debugger
// by its name, so the file must be called dlv.
func findDlv(explicit string) (string, error) {
	if explicit != "" {
		if filepath.Base(explicit) != "dlv" {
			return "", fmt.Errorf("--dlv %s: the file must be named dlv, the name the tracer knows a debugger by; link it as dlv", explicit)
		}
		if !isProgram(explicit) {
			return "", fmt.Errorf("--dlv %s: not an executable program", explicit)
		}
		return filepath.Abs(explicit)
	}
	dirs := filepath.SplitList(os.Getenv("PATH"))
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	gopath := os.Getenv("GOPATH")
	if home, err := os.UserHomeDir(); gopath == "" && err == nil {
		gopath = filepath.Join(home, "go")
	}
	for _, p := range filepath.SplitList(gopath) {
		dirs = append(dirs, filepath.Join(p, "bin"))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, "dlv"); d != "" && isProgram(p) {
			return filepath.Abs(p)
		}
	}
	return "", errors.New("no dlv on PATH, in $GOBIN or in $GOPATH/bin: install Delve (go install github.com/go-delve/delve/cmd/dlv@latest) or name it with --dlv")
}

// isProgram: an executable ELF file, not a script (such as a wrapper
// named dlv that would run this command again).
func isProgram(p string) bool {
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = f.Read(magic)
	return err == nil && string(magic) == "\x7fELF"
}
