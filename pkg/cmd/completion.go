package cmd

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
)

// binaryName is the name shells call the plugin by when it is not run
// through kubectl; kubectl itself asks kubectl_complete-mirror (shipped with
// the plugin), which calls `kubectl-mirror __complete`.
const binaryName = "kubectl-mirror"

// targetKinds are the kinds run takes as TARGET, as completion offers them.
var targetKinds = []string{"deployment", "statefulset", "daemonset", "replicaset", "job", "service", "pod"}

// addCompletions completes TARGET, -c, -n and the kubeconfig's contexts,
// clusters and users from the cluster and the kubeconfig, through
// cli-runtime (the resource builder kubectl itself lists with).
func addCompletions(root *cobra.Command, flags *genericclioptions.ConfigFlags) {
	namespace := func() string { return *flags.Namespace }
	_ = root.RegisterFlagCompletionFunc("namespace", func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return kube.NamesOf(flags, "", "namespaces", toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	for flag, list := range map[string]func() []string{
		"context": func() []string { return configNames(flags, "context") },
		"cluster": func() []string { return configNames(flags, "cluster") },
		"user":    func() []string { return configNames(flags, "user") },
	} {
		_ = root.RegisterFlagCompletionFunc(flag, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			return withPrefix(list(), toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
	for _, c := range root.Commands() {
		if c.Name() != "run" && c.Name() != "dlv" { // both take TARGET and run's flags
			continue
		}
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			switch {
			case dashTyped() || len(args) > 1 || len(args) == 1 && strings.Contains(args[0], "/"):
				return nil, cobra.ShellCompDirectiveDefault // the command after TARGET: files
			case len(args) == 1: // KIND NAME
				return kube.NamesOf(flags, namespace(), args[0], toComplete), cobra.ShellCompDirectiveNoFileComp
			}
			if kind, prefix, ok := strings.Cut(toComplete, "/"); ok {
				var comps []string
				for _, n := range kube.NamesOf(flags, namespace(), kind, prefix) {
					comps = append(comps, kind+"/"+n)
				}
				return comps, cobra.ShellCompDirectiveNoFileComp
			}
			return withPrefix(targetKinds, toComplete), cobra.ShellCompDirectiveNoFileComp
		}
		_ = c.RegisterFlagCompletionFunc("container", func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return kube.ContainersOf(cmd.Context(), flags, namespace(), args, toComplete), cobra.ShellCompDirectiveNoFileComp
		})
	}
}

// configNames lists the kubeconfig's contexts, clusters or users.
func configNames(flags *genericclioptions.ConfigFlags, what string) []string {
	cfg, err := flags.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil
	}
	var names []string
	switch what {
	case "context":
		for n := range cfg.Contexts {
			names = append(names, n)
		}
	case "cluster":
		for n := range cfg.Clusters {
			names = append(names, n)
		}
	case "user":
		for n := range cfg.AuthInfos {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func withPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
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
