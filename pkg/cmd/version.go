package cmd

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// VersionOptions prints the plugin's version and its agent image.
type VersionOptions struct {
	genericiooptions.IOStreams
	Output string
}

// NewVersionOptions returns the defaults.
func NewVersionOptions(streams genericiooptions.IOStreams) *VersionOptions {
	return &VersionOptions{IOStreams: streams}
}

// NewVersionCommand builds `kubectl mirror version`.
func NewVersionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := NewVersionOptions(streams)
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the plugin version and the agent image it uses",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	o.AddFlags(c.Flags())
	return c
}

// AddFlags binds the command's flags.
func (o *VersionOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Output, "output", "o", "", "output format: '' or json")
}

// Validate checks the flags.
func (o *VersionOptions) Validate() error {
	if o.Output != "" && o.Output != "json" {
		return fmt.Errorf("--output %q is not supported: use --output=json or leave it out", o.Output)
	}
	return nil
}

// Run prints the version.
func (o *VersionOptions) Run() error {
	if o.Output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]string{"version": version.Version, "agentImage": version.AgentImage()})
	}
	_, err := fmt.Fprintf(o.Out, "kubectl-mirror %s\nagent image: %s\n", version.Version, version.AgentImage())
	return err
}
