package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/portforward"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/run"
)

// PortForwardOptions forwards local ports to hosts as a pod reaches them.
type PortForwardOptions struct {
	genericiooptions.IOStreams
	kube      *genericclioptions.ConfigFlags
	run       *RunOptions
	specs     []string
	addresses []string
	forwards  []portforward.Forward
}

// NewPortForwardCommand builds `kubectl mirror port-forward`.
func NewPortForwardCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logger *zap.Logger) *cobra.Command {
	o := &PortForwardOptions{IOStreams: streams, kube: kube, run: NewRunOptions(streams, kube, logger)}
	c := &cobra.Command{
		Use:   "port-forward [TARGET] -L [LOCAL_ADDR:]LOCAL_PORT:HOST:PORT ...",
		Short: "Forward local ports to hosts as a pod of TARGET reaches them, with no program traced",
		Long: `Listen on local ports and connect each connection from the pod's network, through your
agent in a pod of TARGET (found or added as run does): HOST is resolved by the pod's DNS, so a
Service name, a name of the pod's namespace or a database only the pod's network reaches work as
they do in the pod. For your IDE's database tool or a browser, with no program under the tracer.
LOCAL_ADDR is 127.0.0.1 unless given; an address other than loopback must also be named with
--address. With no TARGET the connections leave from an agent pod of the namespace. Ctrl-C ends
it; the closing line counts the connections and bytes.`,
		Example: `  kubectl mirror port-forward deploy/api -L 5432:postgres:5432
  kubectl mirror port-forward deploy/api -L 8080:orders.shop:80 -L 9000:10.0.3.7:9000
  kubectl mirror port-forward -n shop -L 6379:redis:6379          # from an agent pod of shop`,
		Args: cobra.MaximumNArgs(2),
		RunE: completeValidateRun(o),
	}
	c.Flags().StringArrayVarP(&o.specs, "forward", "L", nil, "[LOCAL_ADDR:]LOCAL_PORT:HOST:PORT: connections to the local port go to HOST:PORT as the pod dials it (repeatable)")
	c.Flags().StringSliceVar(&o.addresses, "address", nil, "non-loopback local addresses -L may listen on (as kubectl port-forward --address)")
	c.Flags().StringVarP(&o.run.cfg.Container, "container", "c", "", "container of the target's pod the agent targets (as run -c)")
	c.Flags().DurationVar(&o.run.cfg.DialTimeout, "dial-timeout", o.run.cfg.DialTimeout, "how long the pod tries to connect to HOST:PORT")
	return c
}

// Complete takes the target and parses the forwards.
func (o *PortForwardOptions) Complete(_ *cobra.Command, args []string) error {
	o.run.cfg.TargetArgs = args
	o.run.cfg.Getter = o.kube
	o.run.cfg.ContextName = contextName(o.kube)
	o.run.cfg.Progress = func(line string) { fmt.Fprintln(o.ErrOut, "kubectl mirror: "+line) }
	for _, s := range o.specs {
		f, err := portforward.ParseForward(s, o.addresses)
		if err != nil {
			return err
		}
		o.forwards = append(o.forwards, f)
	}
	return nil
}

// Validate asks for at least one forward.
func (o *PortForwardOptions) Validate() error {
	if len(o.forwards) == 0 {
		return errors.New("nothing to forward: add -L LOCAL_PORT:HOST:PORT, such as -L 5432:postgres:5432")
	}
	return nil
}

// Run listens, connects to the agent and forwards until interrupted.
func (o *PortForwardOptions) Run(ctx context.Context) error {
	lns, err := portforward.Listen(o.forwards)
	if err != nil {
		return err
	}
	cfg := o.run.cfg
	if err := withAgentKey(&cfg); err != nil {
		return err
	}
	sess, target, err := run.Open(ctx, cfg)
	if err != nil {
		for _, l := range lns {
			l.Close()
		}
		return err
	}
	defer sess.Close()
	from := "an agent pod of namespace " + target.Namespace
	if target.Pod != nil {
		from = "pod/" + target.Pod.Name
	}
	for i, f := range o.forwards {
		fmt.Fprintf(o.ErrOut, "kubectl mirror: forwarding %s -> %s from %s\n", lns[i].Addr(), f.Remote(), from)
	}
	var st portforward.Stats
	report := func(line string) { fmt.Fprintln(o.ErrOut, "kubectl mirror: "+line) }
	portforward.Serve(ctx, sess, o.forwards, lns, cfg.DialTimeout, report, &st)
	fmt.Fprintln(o.ErrOut, "kubectl mirror: "+summary(&st))
	return nil
}

func summary(st *portforward.Stats) string {
	parts := []string{fmt.Sprintf("%s forwarded, %s out, %s in", outgoing.Count(st.Connections.Load(), "connection", "connections"),
		outgoing.Size(st.BytesOut.Load()), outgoing.Size(st.BytesIn.Load()))}
	if n := st.Failed.Load(); n > 0 {
		parts = append(parts, outgoing.Count(n, "connection", "connections")+" the pod could not make")
	}
	return strings.Join(parts, "; ")
}
