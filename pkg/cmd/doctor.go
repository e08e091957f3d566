package cmd

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/doctor"
)

// DoctorOptions checks what a run needs and says what to fix.
type DoctorOptions struct {
	genericiooptions.IOStreams
	kube   *genericclioptions.ConfigFlags
	run    *RunOptions
	output string
	pings  int
}

// NewDoctorCommand builds `kubectl mirror doctor`.
func NewDoctorCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logger *zap.Logger) *cobra.Command {
	o := &DoctorOptions{IOStreams: streams, kube: kube, run: NewRunOptions(streams, kube, logger), pings: 20}
	c := &cobra.Command{
		Use:   "doctor [TARGET]",
		Short: "Check what a run needs from the kubeconfig, the cluster and this machine, and say what to fix",
		Long: `Check, one line each, what kubectl mirror run needs: the kubeconfig and its context, the API
server and its version, each RBAC permission a run uses (asked with SelfSubjectAccessReview), the
namespace's Pod Security level (which decides whether incoming traffic is allowed), and this
machine's kernel features (ptrace, seccomp, user notification, pidfd_getfd) and whether it runs
in a container. With a TARGET it also starts or reuses your agent there, which proves the agent
image pulls and port-forward works, and times round trips through it (every connect, DNS query
and file read of a program pays one). Exits 0 only when nothing failed; warnings (no incoming in
this namespace, no debuggers on this kernel) do not fail it.`,
		Example: `  kubectl mirror doctor
  kubectl mirror doctor deploy/api -n shop
  kubectl mirror doctor deploy/api -o json`,
		Args: cobra.MaximumNArgs(2),
		RunE: completeValidateRun(o),
	}
	c.Flags().StringVarP(&o.run.cfg.Container, "container", "c", "", "container of the target's pod the agent targets (as run -c)")
	c.Flags().VarP(choiceValue[string]{&o.output, []string{"json"}}, "output", "o", "json: the checks as a JSON array, for scripts")
	c.Flags().IntVar(&o.pings, "pings", o.pings, "round trips through the agent to time")
	return c
}

// Complete takes the target.
func (o *DoctorOptions) Complete(_ *cobra.Command, args []string) error {
	o.run.cfg.TargetArgs = args
	o.run.cfg.Getter = o.kube
	o.run.cfg.ContextName = contextName(o.kube)
	return nil
}

// Validate checks the ping count.
func (o *DoctorOptions) Validate() error {
	if o.pings < 1 {
		return fmt.Errorf("--pings %d: give at least 1", o.pings)
	}
	return nil
}

// Run makes the checks and prints them.
func (o *DoctorOptions) Run(ctx context.Context) error {
	cfg := o.run.cfg
	if err := withAgentKey(&cfg); err != nil {
		return err
	}
	checks := doctor.Run(ctx, doctor.Config{Getter: o.kube, ContextName: cfg.ContextName, Run: cfg, Pings: o.pings})
	if o.output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(checks); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			fmt.Fprintln(o.Out, line(c))
		}
	}
	if doctor.Failed(checks) {
		return &ExitError{Code: 1}
	}
	return nil
}

// line is one check as a person reads it.
func line(c doctor.Check) string {
	mark := map[doctor.State]string{doctor.Pass: "✓", doctor.Warn: "!", doctor.Fail: "✗", doctor.Skipped: "-"}[c.State]
	s := fmt.Sprintf("%s %-12s %s", mark, c.Name, c.Detail)
	if c.Fix != "" {
		s += "; fix: " + c.Fix
	}
	return s
}
