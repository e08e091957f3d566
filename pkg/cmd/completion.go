package cmd

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubectl/pkg/util/completion"
)

// binaryName is the name shells call the plugin by when it is not run
// through kubectl; kubectl itself asks kubectl_complete-mirror (shipped with
// the plugin), which calls `kubectl-mirror __complete`.
const binaryName = "kubectl-mirror"

// targetTypes are the kinds run takes as TARGET.
var targetTypes = []string{"deployment", "statefulset", "daemonset", "replicaset", "job", "service", "pod"}

// addCompletions completes TARGET, -c, -n and --context from the cluster and
// the kubeconfig with kubectl's own completion helpers.
func addCompletions(root *cobra.Command, kube *genericclioptions.ConfigFlags) {
	f := cmdutil.NewFactory(cmdutil.NewMatchVersionFlags(kube))
	completion.SetFactoryForCompletion(f)
	targets := completion.SpecifiedResourceTypeAndNameNoRepeatCompletionFunc(f, targetTypes)
	containers := completion.ContainerCompletionFunc(f)
	_ = root.RegisterFlagCompletionFunc("namespace", func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return completion.CompGetResource(f, "namespace", toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	_ = root.RegisterFlagCompletionFunc("context", completion.ContextCompletionFunc)
	_ = root.RegisterFlagCompletionFunc("cluster", completion.ClusterCompletionFunc)
	_ = root.RegisterFlagCompletionFunc("user", completion.UserCompletionFunc)
	for _, c := range root.Commands() {
		if c.Name() != "run" {
			continue
		}
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if dashTyped() || len(args) > 1 || len(args) == 1 && strings.Contains(args[0], "/") {
				return nil, cobra.ShellCompDirectiveDefault // the command after TARGET: files
			}
			return targets(cmd, args, toComplete)
		}
		_ = c.RegisterFlagCompletionFunc("container", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 2 { // KIND NAME
				args = []string{args[0] + "/" + args[1]}
			}
			return containers(cmd, args, toComplete)
		})
	}
}

// dashTyped reports whether the line being completed has "--" before the
// word completed: the command follows. (Completion parses the flags again
// with a "--" of its own, so ArgsLenAtDash cannot tell.)
func dashTyped() bool {
	return len(os.Args) > 2 && slices.Contains(os.Args[2:len(os.Args)-1], "--")
}

// NewCompletionCommand builds `kubectl mirror completion SHELL`: a script for
// the kubectl-mirror binary (kubectl's own completion reaches the plugin
// through kubectl_complete-mirror).
func NewCompletionCommand(streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script for kubectl-mirror",
		Long: `Print the completion script of SHELL for the kubectl-mirror binary. Targets, containers,
namespaces and contexts complete from your cluster and kubeconfig.

'kubectl mirror <TAB>' completes through kubectl (1.26 and later), which runs the
kubectl_complete-mirror script shipped next to the plugin; krew installs it.`,
		Example: `  # bash, this shell
  source <(kubectl mirror completion bash)

  # zsh, every shell
  kubectl mirror completion zsh > "${fpath[1]}/_kubectl-mirror"`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			use := root.Use
			root.Use = binaryName // the scripts name the command they complete
			defer func() { root.Use = use }()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(streams.Out, true)
			case "zsh":
				return root.GenZshCompletion(streams.Out)
			case "fish":
				return root.GenFishCompletion(streams.Out, true)
			}
			return fmt.Errorf("no completion for %q: use bash, zsh or fish", args[0])
		},
	}
}
