package cmd

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
)

// NewConfigCommand builds `kubectl mirror config`: the project file's
// checker and schema.
func NewConfigCommand(streams genericiooptions.IOStreams) *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Check the project file (" + projectfile.Name + ") or print its JSON Schema",
		Long: `kubectl mirror run reads ` + projectfile.Name + ` from the working directory or a parent, up to
the repository root (or the file --config names). Each key stands for a run flag; flags given on
the command line win over the file. Editors that read JSON Schema check and complete the file
with the schema 'kubectl mirror config schema' prints (also in the repository, schema/).`,
		Example: `  # Check the project file run would use from here
  kubectl mirror config validate

  # Write the schema for your editor
  kubectl mirror config schema > kubectl-mirror.schema.json`,
	}
	c.AddCommand(&cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a project file: its keys, and every value as the flag it stands for takes it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return validateProjectFile(streams, args)
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "schema",
		Short: "Print the project file's JSON Schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := projectfile.Schema()
			if err != nil {
				return err
			}
			_, err = streams.Out.Write(b)
			return err
		},
	})
	return c
}

// validateProjectFile loads the file and applies it to a run command that
// is never run, so a value is refused exactly as the flag would refuse it.
func validateProjectFile(streams genericiooptions.IOStreams, args []string) error {
	explicit := ""
	if len(args) == 1 {
		explicit = args[0]
	}
	l, err := loadProjectFile(explicit)
	if err != nil {
		return err
	}
	if l == nil {
		return errors.New("no " + projectfile.Name + " here or in a parent directory up to the repository root; name one: kubectl mirror config validate FILE")
	}
	root := NewRootCommand(genericiooptions.IOStreams{In: os.Stdin, Out: streams.Out, ErrOut: streams.ErrOut}, Logging{})
	run, _, err := root.Find([]string{"run"})
	if err != nil {
		return err
	}
	if err := run.ParseFlags(nil); err != nil {
		return err
	}
	if _, err := applyProjectFile(run, l, false); err != nil {
		return err
	}
	fmt.Fprintf(streams.Out, "%s: ok\n", l.Path)
	return nil
}
