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

	"github.com/kubectl-mirror/kubectl-mirror/pkg/incoming"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/portforward"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/run"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// PortForwardOptions forwards local ports to hosts as a pod reaches them,
// and pod ports to hosts as this machine reaches them.
type PortForwardOptions struct {
	genericiooptions.IOStreams
	kube      *genericclioptions.ConfigFlags
	run       *RunOptions
	specs     []string
	rspecs    []string
	addresses []string
	config    string
	forwards  []portforward.Forward
	reverses  []portforward.Reverse
}

// NewPortForwardCommand builds `kubectl mirror port-forward`.
func NewPortForwardCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logger *zap.Logger) *cobra.Command {
	c, _ := newPortForward(streams, kube, logger)
	return c
}

// newPortForward is the command and the options its flags fill.
func newPortForward(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logger *zap.Logger) (*cobra.Command, *PortForwardOptions) {
	o := &PortForwardOptions{IOStreams: streams, kube: kube, run: NewRunOptions(streams, kube, logger)}
	c := &cobra.Command{
		Use:   "port-forward [TARGET] [-L [LOCAL_ADDR:]LOCAL_PORT:HOST:PORT[/udp] ...] [-R REMOTE_PORT:LOCAL_HOST:LOCAL_PORT ...]",
		Short: "Forward local ports to hosts as a pod of TARGET reaches them, and a pod's ports to this machine, with no program traced",
		Long: `-L listens on a local port and sends each connection (with /udp, each client's datagrams) from
the pod's network, through your agent in a pod of TARGET (found or added as run does): HOST is
resolved by the pod's DNS, so a Service name, a name of the pod's namespace or a database only the
pod's network reaches work as they do in the pod. For your IDE's database tool or a browser, with no
program under the tracer. LOCAL_ADDR is 127.0.0.1 unless given; an address other than loopback must
also be named with --address. With no TARGET the connections leave from an agent pod of the
namespace.

-R steals the port REMOTE_PORT of every Ready pod of TARGET, as run --incoming steal does (the
same HTTP filters, sharing with other sessions, refusals, kubelet probes left to the app), and
serves each connection by connecting to LOCAL_HOST:LOCAL_PORT from this machine; when that fails
the client's connection is closed and the failure is told. The pod's port needs no listener.

Ctrl-C ends it and gives the pods their ports back; the closing lines count the connections and
bytes of each forward.

The project file (` + projectfile.Name + `, found from the working directory up) gives the
target, its namespace, context and container when not given here, and its portForward.local and
portForward.reverse lists stand for -L and -R when neither is given.`,
		Example: `  kubectl mirror port-forward deploy/api -L 5432:postgres:5432
  kubectl mirror port-forward deploy/api -L 8080:orders.shop:80 -L 9000:10.0.3.7:9000
  kubectl mirror port-forward deploy/api -L 5353:kube-dns.kube-system:53/udp
  kubectl mirror port-forward deploy/api -R 8080:127.0.0.1:3000     # the pods' port 8080 answered by your local server
  kubectl mirror port-forward deploy/api -R 8080:127.0.0.1:3000 --http-filter 'header:X-User: ^me$'
  kubectl mirror port-forward -n shop -L 6379:redis:6379          # from an agent pod of shop`,
		Args: cobra.MaximumNArgs(2),
		RunE: completeValidateRun(o),
	}
	fs := c.Flags()
	fs.StringVar(&o.config, "config", "", "the project file (default: "+projectfile.Name+" found from here up)")
	cfg := &o.run.cfg
	fs.StringArrayVarP(&o.specs, "forward", "L", nil, "[LOCAL_ADDR:]LOCAL_PORT:HOST:PORT[/udp]: connections (datagrams) to the local port go to HOST:PORT as the pod sends them (repeatable)")
	fs.StringArrayVarP(&o.rspecs, "reverse", "R", nil, "REMOTE_PORT:LOCAL_HOST:LOCAL_PORT: the pods' port REMOTE_PORT is stolen and served by LOCAL_HOST:LOCAL_PORT as this machine reaches it (repeatable)")
	fs.StringSliceVar(&o.addresses, "address", nil, "non-loopback local addresses -L may listen on (as kubectl port-forward --address)")
	fs.StringVarP(&cfg.Container, "container", "c", "", "container of the target's pod the agent targets (as run -c)")
	fs.DurationVar(&cfg.DialTimeout, "dial-timeout", cfg.DialTimeout, "how long the pod tries to connect to HOST:PORT")
	fs.Var(filterValue{&cfg.HTTPFilters}, "http-filter", "with -R, take only HTTP requests matching 'header:NAME: REGEXP', 'path:REGEXP' or 'method:REGEXP' (repeatable, all must match; as run's)")
	fs.BoolVar(&cfg.Takeover, "incoming-takeover", false, "with -R, take a pod port another session holds instead of being refused (that session is told)")
	fs.BoolVar(&cfg.IncomingHostNetwork, "incoming-host-network", false, "with -R, allow a pod with hostNetwork: true, whose port is then taken in the node's own network namespace")
	return c, o
}

// Complete takes the target and parses the forwards.
func (o *PortForwardOptions) Complete(cmd *cobra.Command, args []string) error {
	project, err := loadProjectFile(o.config)
	if err != nil {
		return err
	}
	if project != nil {
		forwardsGiven := cmd.Flags().Changed("forward") || cmd.Flags().Changed("reverse")
		keep := func(key string) bool {
			switch key {
			case "namespace", "context", "container":
				return true
			}
			return strings.HasPrefix(key, "portForward.") && !forwardsGiven
		}
		fileTarget, err := applyProjectFileKeys(cmd, project, keep)
		if err != nil {
			return err
		}
		if len(args) == 0 {
			args = fileTarget
		}
	}
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
	seen := map[int]string{}
	for _, s := range o.rspecs {
		r, err := portforward.ParseReverse(s)
		if err != nil {
			return err
		}
		if prev, dup := seen[r.PodPort]; dup {
			return fmt.Errorf("-R %s: the pod's port %d is forwarded by -R %s already; keep one", s, r.PodPort, prev)
		}
		seen[r.PodPort] = s
		o.reverses = append(o.reverses, r)
	}
	return nil
}

// Validate asks for at least one forward, and a target for -R.
func (o *PortForwardOptions) Validate() error {
	cfg := o.run.cfg
	switch {
	case len(o.forwards) == 0 && len(o.reverses) == 0:
		return errors.New("nothing to forward: add -L LOCAL_PORT:HOST:PORT, such as -L 5432:postgres:5432, or -R REMOTE_PORT:LOCAL_HOST:LOCAL_PORT")
	case len(o.reverses) > 0 && cfg.Targetless():
		return errors.New("-R steals a port of a target's pods: name the target, such as deploy/api")
	case len(o.reverses) == 0 && (len(cfg.HTTPFilters) > 0 || cfg.Takeover || cfg.IncomingHostNetwork):
		return errors.New("--http-filter, --incoming-takeover and --incoming-host-network apply to -R: add -R REMOTE_PORT:LOCAL_HOST:LOCAL_PORT")
	}
	return nil
}

// Run listens, connects to the agent, steals the -R ports and forwards
// until interrupted.
func (o *PortForwardOptions) Run(ctx context.Context) error {
	for _, r := range o.reverses {
		if err := r.CheckLocal(ctx); err != nil {
			return err
		}
	}
	socks, err := portforward.Listen(o.forwards)
	if err != nil {
		return err
	}
	closeSocks := func() {
		for _, s := range socks {
			s.Close()
		}
	}
	cfg := o.run.cfg
	if err := withAgentKey(&cfg); err != nil {
		closeSocks()
		return err
	}
	var sess *session.Session
	var target kube.Target
	var in *incoming.Manager
	stopIncoming := func() {}
	if len(o.reverses) > 0 {
		sess, target, in, stopIncoming, err = run.OpenSteal(ctx, cfg)
	} else {
		sess, target, err = run.Open(ctx, cfg)
	}
	if err != nil {
		closeSocks()
		return err
	}
	defer sess.Close()
	report := func(line string) { fmt.Fprintln(o.ErrOut, "kubectl mirror: "+line) }
	rstats := make([]*portforward.Stats, len(o.reverses))
	for i, r := range o.reverses {
		rstats[i] = &portforward.Stats{}
		if in.Forward(r.PodPort, r.Serve(rstats[i], report)) == 0 {
			stopIncoming()
			closeSocks()
			return fmt.Errorf("-R %s: the pod's port %d is not stolen on any pod (the line above says why)", r, r.PodPort)
		}
		report(fmt.Sprintf("forwarding the pod's port %d -> %s on this machine", r.PodPort, r.Local()))
	}
	for i, f := range o.forwards {
		report(fmt.Sprintf("forwarding %s -> %s from %s", socks[i].Addr(), f.Remote()+udpSuffix(f), from(target)))
	}
	stats := make([]*portforward.Stats, len(o.forwards))
	for i := range stats {
		stats[i] = &portforward.Stats{}
	}
	portforward.Serve(ctx, sess, o.forwards, socks, cfg.DialTimeout, report, stats)
	stopIncoming() // first: the pods answer their ports again
	for i, f := range o.forwards {
		report(forwardSummary("-L "+f.String(), stats[i], f.UDP, "the pod could not make"))
	}
	for i, r := range o.reverses {
		report(forwardSummary("-R "+r.String(), rstats[i], false, "not made on this machine"))
	}
	return nil
}

// from names where -L's connections leave from.
func from(t kube.Target) string {
	if t.Pod == nil {
		return "an agent pod of namespace " + t.Namespace
	}
	return "pod/" + t.Pod.Name
}

func udpSuffix(f portforward.Forward) string {
	if f.UDP {
		return "/udp"
	}
	return ""
}

// forwardSummary is one forward's closing line: connections (flows for
// UDP) and bytes, and the failures, never left out.
func forwardSummary(name string, st *portforward.Stats, udp bool, failed string) string {
	one, many := "connection", "connections"
	if udp {
		one, many = "flow", "flows"
	}
	line := fmt.Sprintf("%s: %s forwarded, %s out, %s in", name, outgoing.Count(st.Connections.Load(), one, many),
		outgoing.Size(st.BytesOut.Load()), outgoing.Size(st.BytesIn.Load()))
	if n := st.Failed.Load(); n > 0 {
		line += "; " + outgoing.Count(n, one, many) + " " + failed
	}
	return strings.TrimSpace(line)
}
