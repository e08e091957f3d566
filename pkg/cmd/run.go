package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/envmerge"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/run"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// RunOptions runs a local program as if it lived in a pod of the target.
// Its flags land, parsed and typed, in cfg; Complete adds what comes from
// the arguments and the kubeconfig; Validate checks what no single flag can.
type RunOptions struct {
	genericiooptions.IOStreams
	kube   *genericclioptions.ConfigFlags
	logger *zap.Logger

	cfg       run.Config
	envImport bool // --env-import; cfg.Env.None is its opposite
	processes processRules
	config    string // --config: the project file, else the one found from here up
	// copyCommand is --copy-target-command, split in Complete.
	copyCommand string
}

// NewRunOptions returns the defaults.
func NewRunOptions(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logger *zap.Logger) *RunOptions {
	return &RunOptions{IOStreams: streams, kube: kube, logger: logger, envImport: true, cfg: run.Config{
		Agent: run.AgentConfig{Image: version.AgentImage(), PullPolicy: corev1.PullIfNotPresent,
			IdleTimeout: 5 * time.Minute, StartupTimeout: 60 * time.Second},
		Env:         envmerge.Rules{Overrides: map[string]string{}},
		DialTimeout: 30 * time.Second,
		FSMode:      "remote",
		FSMap:       map[string]remotefiles.Mapping{},
		Incoming:    protocol.ModeMirror,
		PortMap:     map[int]int{},
	}}
}

// NewRunCommand builds `kubectl mirror run`.
func NewRunCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logging Logging) *cobra.Command {
	o := NewRunOptions(streams, kube, logging.Logger)
	o.cfg.Engine = logging.Engine
	c := &cobra.Command{
		Use:   "run [TARGET] -- COMMAND [ARGS...]",
		Short: "Run a local program as if it lived inside a pod of TARGET",
		Long: `Run COMMAND on this machine with the environment of a pod of TARGET, through a small
agent injected into that pod as an ephemeral container (reused by later runs while it lives).

Settings come from the flags and from ` + projectfile.Name + ` (in this directory or a parent, up to
the repository root, or --config FILE), whose keys stand for these flags; flags win. With a
target in that file, 'kubectl mirror run -- go run .' is the whole command.

With no TARGET at all, the agent runs in a short-lived pod of its own in the namespace (a Job
that passes Pod Security "restricted", reused by your next runs, gone at its idle timeout):
outgoing traffic and DNS go through it, cluster names resolve as in the namespace, and the
environment and files stay local; incoming traffic needs a target.

TARGET is pod/NAME, deploy/NAME, statefulset/NAME, daemonset/NAME, replicaset/NAME, job/NAME
or service/NAME (a pod behind it), in the KIND/NAME or KIND NAME form; a Ready pod is picked.
The exit code is COMMAND's. With --copy-target, the session runs against a new pod made from
the target's pod template (also cronjob/NAME, and a Job that has finished): a Job's pod with the
source's labels, deleted when the session ends (or, if the plugin is killed, once its deadline,
renewed by the session, passes); --scale-down sets a Deployment or StatefulSet to 0 meanwhile
and restores its replica count after (after a kill -9: the next run naming it, or
'kubectl mirror ls --cleanup').

Outgoing connections and datagrams (TCP and UDP, IPv4 and IPv6) leave from the pod, and the
pod's /etc/resolv.conf and /etc/hosts are what COMMAND reads, so cluster names resolve as in the
pod. Loopback always stays local. --local keeps destinations local; with --remote, only the
destinations it names go to the pod. Each takes a CIDR, an address, a host name (for --local
resolved here, for --remote in the pod) or :PORT, optionally followed by :PORT.

Files: COMMAND reads the pod's /etc/resolv.conf, /etc/hosts, /etc/hostname, its service-account
credentials (/var/run/secrets/kubernetes.io) and every ConfigMap, Secret, projected and downward
API volume the container mounts, at their original paths; everything else is local. Each is
copied once when the session starts and read natively after that. Opening them for writing, and
every other change of them, fails with EROFS, unless --fs-write carries the change out in the pod
(as the container's user). --fs-remote adds paths, --fs-local keeps paths local, and
--fs-mode local reads nothing from the pod but the --fs-remote paths; --fs-mode all reads every path
from the pod (on first use) except the local set: /proc, /sys, /dev, /tmp, /usr, /bin, /lib*, the
dynamic linker's files, home, the working directory, the program's own directory and toolchain
caches (--fs-local adds to it, --fs-remote takes from it).

Incoming: when COMMAND listens on a TCP port (not loopback only), the same port of the pod (or
the one --port-map names) is served to it. mirror (default) copies what clients send to the pod
into COMMAND, whose answers are dropped, while the pod's app keeps answering; steal hands the
connections to COMMAND, which answers; with --http-filter only matching requests are stolen
(HTTP/1.x request by request, cleartext HTTP/2 and so gRPC stream by stream), and the rest reach
the pod's app, as does whatever a filter cannot read (TLS). Incoming traffic needs a second
agent with NET_ADMIN (started the first time COMMAND listens); its redirect rules are removed
when the session ends. It is refused where it cannot work or would reach too far: in a namespace
whose Pod Security level (baseline, restricted) forbids NET_ADMIN, and on a pod with
hostNetwork: true, whose redirects would take the port in the node's own network namespace from
every host-network process on that node, unless --incoming-host-network accepts that. Without
--incoming the default mirror is then turned off with a note.`,
		Example: `  # Run your service locally with the environment of a pod of deploy/api
  kubectl mirror run deploy/api -- go run .

  # Pick the container, override a variable, keep secrets out
  kubectl mirror run -n shop deploy/api -c app --env LOG_LEVEL=debug --env-exclude 'AWS_*' -- ./api

  # Keep the local database and anything on port 5432 local; the rest goes through the pod
  kubectl mirror run deploy/api --local 192.168.1.0/24 --local :5432 -- go run .

  # Also read the pod's /app/config; keep its /etc/hosts local
  kubectl mirror run deploy/api --fs-remote /app/config --fs-local /etc/hosts -- ./api

  # Answer the requests of one user yourself; everyone else gets the pod's app
  kubectl mirror run deploy/api --incoming steal --http-filter 'header:X-User: ^alice$' -- go run .

  # Your program listens on 3000; mirror the pod's port 8080 to it
  kubectl mirror run deploy/api --port-map 3000:8080 -- npm start

  # Send only cluster Services and one external host through the pod
  kubectl mirror run deploy/api --remote 10.96.0.0/12 --remote payments.internal:443 -- go run .

  # A copy of deploy/api takes all its Service's traffic; the Deployment is back after
  kubectl mirror run deploy/api --copy-target --scale-down --incoming steal -- go run .

  # No target: reach the namespace's Services by name from this machine
  kubectl mirror run -n shop -- curl http://api/healthz`,
		RunE: completeValidateRun(o),
	}
	o.AddFlags(c.Flags())
	return c
}

// AddFlags binds the command's flags to the run's config.
func (o *RunOptions) AddFlags(fs *pflag.FlagSet) {
	c := &o.cfg
	fs.StringVarP(&c.Container, "container", "c", "", "container of the pod to mirror (default: the kubectl.kubernetes.io/default-container annotation, else the first); an app container, not a native sidecar")
	fs.StringVar(&c.Agent.Image, "agent-image", c.Agent.Image, "agent image injected into the pod")
	fs.Var(choiceValue[corev1.PullPolicy]{&c.Agent.PullPolicy, []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}}, "agent-image-pull-policy", "pull policy of the agent image: Always, IfNotPresent or Never")
	fs.DurationVar(&c.Agent.IdleTimeout, "agent-idle-timeout", c.Agent.IdleTimeout, "the agent exits after this long without a session")
	fs.DurationVar(&c.Agent.StartupTimeout, "agent-startup-timeout", c.Agent.StartupTimeout, "give up when the agent is not running after this long")
	fs.Var(envValue(c.Env.Overrides), "env", "set KEY=VALUE in the program's environment, over the pod's (repeatable)")
	fs.StringArrayVar(&c.Env.Include, "env-include", nil, "take only the pod's variables matching this glob (repeatable); PATH, HOME and the like only when named exactly")
	fs.StringArrayVar(&c.Env.Exclude, "env-exclude", nil, "leave out the pod's variables matching this glob (repeatable)")
	fs.StringArrayVar(&c.Env.Unset, "env-unset", nil, "remove variables matching this glob, the pod's and this machine's (repeatable)")
	fs.Var(&dotenvValue{pairs: &c.Env.Load}, "env-load", "load FILE (dotenv syntax) into the program's environment, over the pod's and under --env (repeatable)")
	fs.BoolVar(&o.envImport, "env-import", o.envImport, "take the pod's environment; --env-import=false takes none of it (--env still applies)")
	fs.StringVar(&c.EnvFile, "env-file", "", "also write the pod's variables (after the env rules) to FILE in dotenv syntax, mode 0600; with no COMMAND, write it and exit")
	addRuleFlags(fs, sessionRules{Local: &c.Outgoing.Local, Remote: &c.Outgoing.Remote, LocalHosts: &c.LocalHosts, RemoteHosts: &c.RemoteHosts,
		FSMode: &c.FSMode, FSRemote: &c.FSRemote, FSLocal: &c.FSLocal, Processes: &o.processes})
	fs.BoolVar(&c.FSWrite, "fs-write", false, "carry the program's changes of the pod's files (write, create, mkdir, rename, unlink, chmod, truncate) out in the pod, as the container's user")
	if c.FSView == "" {
		c.FSView = "auto"
	}
	fs.Var(choiceValue[string]{&c.FSView, []string{"auto", "mount", "stops"}}, "fs-view", "how the pod's files reach the program: mount (as root, a mount namespace of its own: its file calls never stop), stops (each file call stopped and rewritten), auto (mount where the session and this machine allow it)")
	fs.Var(fsMapValue(c.FSMap), "fs-map", "serve the pod's REMOTE path (file or directory) from LOCAL on this machine, read-only, or taking the program's writes with :rw (repeatable)")
	fs.Var(choiceValue[protocol.Mode]{&c.Incoming, []protocol.Mode{protocol.ModeMirror, protocol.ModeSteal, run.IncomingOff}}, "incoming", "what the program's listening ports get from the pod's: mirror, steal or off")
	fs.Var(filterValue{&c.HTTPFilters}, "http-filter", "with steal, take only HTTP requests matching 'header:NAME: REGEXP', 'path:REGEXP' or 'method:REGEXP' (repeatable, all must match)")
	fs.IntSliceVar(&c.IncomingPorts, "incoming-ports", nil, "local listening ports that take part (default: all)")
	fs.BoolVar(&c.Takeover, "incoming-takeover", false, "take a pod port another session holds instead of being refused (that session is told)")
	fs.BoolVar(&c.MirrorProbes, "mirror-probes", false, "with mirror, copy the kubelet's probes to the program too (left out by default)")
	fs.BoolVar(&c.IncomingHostNetwork, "incoming-host-network", false, "allow incoming traffic on a pod with hostNetwork: true, whose redirects take the port in the node's own network namespace from every host-network process on that node")
	fs.Var(portMapValue(c.PortMap), "port-map", "LOCAL:REMOTE: the program's port LOCAL gets the pod's port REMOTE (repeatable)")
	fs.DurationVar(&c.DialTimeout, "dial-timeout", c.DialTimeout, "how long the pod tries to connect before the program's connect fails with ETIMEDOUT")
	fs.BoolVar(&c.Copy.Enabled, "copy-target", false, "run against a copy of the target: a new pod made from its pod template (a Job's pod), deleted when the session ends")
	fs.BoolVar(&c.Copy.Labels, "copy-target-labels", true, "give the copy the source's labels, so its Services send it traffic; =false: they do not")
	fs.StringVar(&o.copyCommand, "copy-target-command", "", "with --copy-target, the app container runs this instead of its command (split at spaces, or a JSON array such as '[\"sh\",\"-c\",\"sleep 1d\"]'); its probes are dropped")
	fs.BoolVar(&c.Copy.ScaleDown, "scale-down", false, "with --copy-target, scale the source Deployment or StatefulSet to 0 for the session; its replica count is restored after")
	fs.StringVar(&o.config, "config", "", "the project file (default: "+projectfile.Name+" in this directory or a parent, up to the repository root); flags given here win over its keys")
}

// Complete splits TARGET from the command after "--" and fills in what the
// flags do not say.
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	c := &o.cfg
	var fileTarget []string
	project, err := loadProjectFile(o.config)
	if err != nil {
		return err
	}
	if project != nil {
		fmt.Fprintf(o.ErrOut, "kubectl mirror: settings from %s\n", project.Path)
		if fileTarget, err = applyProjectFile(cmd, project, false); err != nil {
			return err
		}
	}
	dash := cmd.ArgsLenAtDash()
	switch {
	case dash >= 0:
		c.TargetArgs, c.Command = args[:dash], args[dash:]
	case c.EnvFile != "":
		c.TargetArgs = args // write the environment file and exit
	default:
		return errors.New("no command given; usage: kubectl mirror run TARGET -- COMMAND [ARGS...]")
	}
	if len(c.TargetArgs) == 0 {
		c.TargetArgs = fileTarget
	}
	if len(c.TargetArgs) == 0 {
		if err := targetlessOnly(cmd, c); err != nil {
			return err
		}
	}
	if err := checkFSView(c); err != nil {
		return err
	}
	if o.copyCommand != "" {
		if c.Copy.Command, err = splitCommand(o.copyCommand); err != nil {
			return err
		}
	}
	c.IncomingAsked = incomingAsked(cmd, c)
	c.Env.None = !o.envImport
	c.Processes = o.processes.policy()
	if err := o.processes.checkTracing(c.Command); err != nil {
		return err
	}
	c.Getter, c.ContextName = o.kube, contextName(o.kube)
	c.FilesDir = remotefiles.BaseDir()
	c.Stdin, c.Stdout, c.Stderr = fileOr(o.In, os.Stdin), fileOr(o.Out, os.Stdout), fileOr(o.ErrOut, os.Stderr)
	c.Progress = func(line string) { fmt.Fprintf(o.ErrOut, "kubectl mirror: %s\n", line) }
	c.Logger = o.logger
	return nil
}

// checkFSView refuses, before anything is asked of the cluster, a mount
// view that cannot be: what the plugin can tell from here (root, and the
// modes that act on the pod as the program goes).
func checkFSView(c *run.Config) error {
	if c.FSView != "mount" {
		return nil
	}
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "a mount namespace needs root (CAP_SYS_ADMIN)"
	case c.FSWrite:
		why = "--fs-write (files.write) carries changes to the pod"
	case c.FSMode == "all":
		why = "--fs-mode all (files.mode) reads the pod's files as the program uses them"
	default:
		return nil
	}
	return fmt.Errorf("--fs-view mount: %s; run with --fs-view stops (or auto)", why)
}

// targetlessOnly refuses, for a run with no target, the flags that need a
// pod of a workload (incoming traffic, the pod's files, its environment),
// and turns incoming traffic off.
func targetlessOnly(cmd *cobra.Command, c *run.Config) error {
	for _, name := range []string{"container", "incoming", "http-filter", "incoming-ports", "incoming-takeover", "incoming-host-network", "mirror-probes", "port-map", "fs-remote", "fs-map", "fs-write", "env-file", "copy-target", "scale-down", "copy-target-command", "copy-target-labels"} {
		f := cmd.Flags().Lookup(name)
		if f.Changed && !(name == "incoming" && c.Incoming == run.IncomingOff) {
			return fmt.Errorf("--%s needs a target: a run with no target carries outgoing traffic and DNS only; name one, such as deploy/api", name)
		}
	}
	if c.FSMode == "all" {
		return errors.New("--fs-mode all needs a target: a run with no target reads local files; name one, such as deploy/api")
	}
	c.Incoming = run.IncomingOff
	return nil
}

// incomingAsked: a flag (or a project file key) names incoming traffic,
// rather than the default mirror applying.
func incomingAsked(cmd *cobra.Command, c *run.Config) bool {
	if c.Incoming == run.IncomingOff {
		return false
	}
	for _, name := range []string{"incoming", "http-filter", "incoming-ports", "incoming-takeover", "incoming-host-network", "port-map"} {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

// Validate checks what no single flag can.
func (o *RunOptions) Validate() error {
	c := &o.cfg
	if len(c.TargetArgs) > 2 {
		return errors.New("name one target, such as deploy/api or pod/api-0 (or target: in " + projectfile.Name + "); usage: kubectl mirror run TARGET -- COMMAND [ARGS...]")
	}
	if len(c.Command) == 0 && c.EnvFile == "" {
		return errors.New("no command given; usage: kubectl mirror run [TARGET] -- COMMAND [ARGS...]")
	}
	if err := validateCopy(c); err != nil {
		return err
	}
	if len(c.HTTPFilters) > 0 && c.Incoming != protocol.ModeSteal {
		return errors.New("--http-filter chooses what to steal: add --incoming steal")
	}
	return nil
}

// Run carries the session out and passes the program's exit code on.
func (o *RunOptions) Run(ctx context.Context) error {
	cfg := o.cfg
	if err := withAgentKey(&cfg); err != nil {
		return err
	}
	status, err := run.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if status.Signal != 0 {
		fmt.Fprintf(o.ErrOut, "kubectl mirror: the program was %s\n", status)
	}
	if code := status.ExitCode(); code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// contextName is the kubeconfig context the run uses: --context, else the
// current one.
func contextName(kube *genericclioptions.ConfigFlags) string {
	if kube.Context != nil && *kube.Context != "" {
		return *kube.Context
	}
	raw, err := kube.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}
