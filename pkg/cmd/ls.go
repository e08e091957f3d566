package cmd

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/userkey"
)

// LsOptions lists what `run` can target and the agents living there.
type LsOptions struct {
	genericiooptions.IOStreams
	kube          *genericclioptions.ConfigFlags
	allNamespaces bool
	output        string
	cleanup       bool
}

// NewLsCommand builds `kubectl mirror ls`.
func NewLsCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags) *cobra.Command {
	o := &LsOptions{IOStreams: streams, kube: kube}
	c := &cobra.Command{
		Use:   "ls [-A] [-o wide|json] [--cleanup]",
		Short: "List the workloads and pods run can target, and the agents living in them",
		Long: `List the deployments, statefulsets, daemonsets and jobs of the namespace (-A: of every
namespace), and the pods no controller owns, with their containers and declared ports and the
agents of kubectl mirror in their pods: the container each targets, its tier (outgoing; incoming,
which holds NET_ADMIN), whose it is (yours, or the fingerprint of the key it answers to), its
state and age. A native sidecar (an init container with restartPolicy: Always) is listed after
the app containers as NAME[sidecar]; run targets app containers only. -o wide lists every pod and
agent; -o json is for scripts and editors.

Copies of targets (run --copy-target) are listed after the targets, with their source, whose
they are and their state: running, starting, ended, or stale (its plugin ran on this machine and
is gone, as after kill -9). --cleanup deletes the ended and stale copies and gives the
Deployments and StatefulSets that --scale-down left at 0 their replica count back (recorded in
their kubectl-mirror.io/scaled-down-from annotation) when no live copy holds them.`,
		Example: `  kubectl mirror ls
  kubectl mirror ls --cleanup
  kubectl mirror ls -A -o wide
  kubectl mirror ls -n shop -o json`,
		Args: cobra.NoArgs,
		RunE: completeValidateRun(o),
	}
	c.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list every namespace")
	c.Flags().BoolVar(&o.cleanup, "cleanup", false, "first delete the copies no session uses and restore what --scale-down left scaled down")
	c.Flags().VarP(choiceValue[string]{&o.output, []string{"wide", "json"}}, "output", "o", "wide: every pod and agent; json: everything, for scripts")
	return c
}

// Complete has nothing to add.
func (o *LsOptions) Complete(*cobra.Command, []string) error { return nil }

// Validate has nothing to check that the flags did not.
func (o *LsOptions) Validate() error { return nil }

// Run lists and prints.
func (o *LsOptions) Run(ctx context.Context) error {
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ns := ""
	if !o.allNamespaces {
		if ns, _, err = o.kube.ToRawKubeConfigLoader().Namespace(); err != nil {
			return err
		}
	}
	if o.cleanup {
		done, err := kube.CleanupCopies(ctx, cs, ns)
		for _, line := range done {
			fmt.Fprintf(o.ErrOut, "kubectl mirror ls: %s\n", line)
		}
		if err != nil {
			return fmt.Errorf("--cleanup: %w", err)
		}
	}
	list, skipped, err := kube.ListTargets(ctx, cs, ns, yourKey())
	if err != nil {
		return err
	}
	copies, err := kube.ListCopies(ctx, cs, ns, yourKey())
	if err != nil && !apierrors.IsForbidden(err) {
		return err
	}
	if len(skipped) > 0 {
		fmt.Fprintf(o.ErrOut, "kubectl mirror ls: not listed, you may not list them: %s\n", strings.Join(skipped, ", "))
	}
	return o.print(list, copies, ns)
}

// print writes the list as -o asks. A table with nothing to list is, as
// kubectl's, one line on stderr instead; ns is "" for every namespace.
func (o *LsOptions) print(list []kube.Listed, copies []kube.Copy, ns string) error {
	if o.output == "json" {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Targets []kube.Listed `json:"targets"`
			Copies  []kube.Copy   `json:"copies,omitempty"`
		}{list, copies})
	}
	defer o.printCopies(copies)
	if len(list) == 0 {
		if ns == "" {
			fmt.Fprintln(o.ErrOut, "No resources found")
		} else {
			fmt.Fprintf(o.ErrOut, "No resources found in %s namespace.\n", ns)
		}
		return nil
	}
	w := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	defer w.Flush()
	if o.output == "wide" {
		fmt.Fprintln(w, "NAMESPACE\tTARGET\tPOD\tREADY\tAGENT\tCONTAINER\tTIER\tOWNER\tSTATE\tAGE")
		for _, l := range list {
			for _, p := range l.Pods {
				if len(p.Agents) == 0 {
					fmt.Fprintf(w, "%s\t%s\t%s\t%v\t-\t-\t-\t-\t-\t-\n", l.Namespace, l.Target, p.Name, p.Ready)
				}
				for _, a := range p.Agents {
					fmt.Fprintf(w, "%s\t%s\t%s\t%v\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Namespace, l.Target, p.Name, p.Ready, a.Name, a.Container, a.Tier, owner(a), a.State, age(a.Started))
				}
			}
		}
		return nil
	}
	fmt.Fprintln(w, "NAMESPACE\tTARGET\tPODS\tCONTAINERS (PORTS)\tAGENTS")
	for _, l := range list {
		ready, agents, yours := 0, 0, 0
		for _, p := range l.Pods {
			if p.Ready {
				ready++
			}
			for _, a := range p.Agents {
				if a.State != "exited" {
					agents++
					if a.Yours {
						yours++
					}
				}
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%d/%d\t%s\t%d (%d yours)\n", l.Namespace, l.Target, ready, len(l.Pods), containersColumn(l.Containers), agents, yours)
	}
	return nil
}

// containersColumn lists the containers with their ports, native sidecars
// marked: "app (8080/TCP) proxy[sidecar] (15001/TCP)".
func containersColumn(containers []kube.ListedPort) string {
	var cs []string
	for _, c := range containers {
		name := c.Container
		if c.Sidecar {
			name += "[sidecar]"
		}
		if len(c.Ports) == 0 {
			cs = append(cs, name)
		} else {
			cs = append(cs, name+" ("+strings.Join(c.Ports, ",")+")")
		}
	}
	return strings.Join(cs, " ")
}

// yourKey is the caller's public key as agents name it, or "" when this
// user has none yet (ls never creates one).
func yourKey() string {
	path, err := userkey.DefaultPath()
	if err != nil {
		return ""
	}
	k, err := userkey.Load(path)
	if err != nil {
		return ""
	}
	return protocol.EncodeKey(k.Public().(ed25519.PublicKey))
}

func owner(a kube.ListedAgent) string {
	if a.Yours {
		return "you"
	}
	return a.Owner
}

func age(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(time.Since(t))
}

// printCopies lists the copies of targets after the targets, if any.
func (o *LsOptions) printCopies(copies []kube.Copy) {
	if len(copies) == 0 || o.output == "json" {
		return
	}
	w := tabwriter.NewWriter(o.Out, 0, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintln(w, "\nNAMESPACE\tCOPY\tOF\tPOD\tUSER\tSCALE-DOWN\tSTATE\tAGE")
	for _, c := range copies {
		who := c.User
		if c.Yours {
			who = "you"
		}
		fmt.Fprintf(w, "%s\tjob/%s\t%s\t%s\t%s\t%v\t%s\t%s\n", c.Namespace, c.Job, c.Source, cmp.Or(c.Pod, "-"), who, c.ScaleDown, c.State, age(c.Started))
	}
}
