package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/envmerge"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/mirror"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/userkey"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// RunOptions runs a local program as if it lived in a pod of the target.
type RunOptions struct {
	genericiooptions.IOStreams
	kube   *genericclioptions.ConfigFlags
	logger *zap.Logger

	Container           string
	AgentImage          string
	AgentPullPolicy     string
	AgentIdleTimeout    time.Duration
	AgentStartupTimeout time.Duration
	EnvOverrides        []string
	EnvInclude          []string
	EnvExclude          []string
	EnvImport           bool
	EnvFile             string
	ruleFlags
	DialTimeout      time.Duration
	FSMaps           []string
	FSWrite          bool
	Incoming         string
	HTTPFilters      []string
	IncomingPorts    []int
	IncomingTakeover bool
	PortMaps         []string

	targetArgs []string
	filters    []protocol.HTTPFilter
	portMap    map[int]int
	fsMap      map[string]string
	command    []string
}

// NewRunOptions returns the defaults.
func NewRunOptions(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logger *zap.Logger) *RunOptions {
	return &RunOptions{
		IOStreams:           streams,
		kube:                kube,
		logger:              logger,
		AgentImage:          version.AgentImage(),
		AgentPullPolicy:     string(corev1.PullIfNotPresent),
		AgentIdleTimeout:    5 * time.Minute,
		AgentStartupTimeout: 60 * time.Second,
		DialTimeout:         30 * time.Second,
		EnvImport:           true,
		Incoming:            protocol.ModeMirror,
	}
}

// NewRunCommand builds `kubectl mirror run`.
func NewRunCommand(streams genericiooptions.IOStreams, kube *genericclioptions.ConfigFlags, logger *zap.Logger) *cobra.Command {
	o := NewRunOptions(streams, kube, logger)
	c := &cobra.Command{
		Use:   "run TARGET -- COMMAND [ARGS...]",
		Short: "Run a local program as if it lived inside a pod of TARGET",
		Long: `Run COMMAND on this machine with the environment of a pod of TARGET, through a small
agent injected into that pod as an ephemeral container (reused by later runs while it lives).

TARGET is pod/NAME, deploy/NAME, statefulset/NAME, daemonset/NAME, replicaset/NAME, job/NAME
or service/NAME (a pod behind it), in the KIND/NAME or KIND NAME form; a Ready pod is picked.
The exit code is COMMAND's.

Outgoing connections and datagrams (TCP and UDP, IPv4 and IPv6) leave from the pod, and the
pod's /etc/resolv.conf and /etc/hosts are what COMMAND reads, so cluster names resolve as in the
pod. Loopback always stays local. --local keeps destinations local; with --remote, only the
destinations it names go to the pod. Each takes a CIDR, an address, a host name (for --local
resolved here, for --remote in the pod) or :PORT, optionally followed by :PORT.

Files: COMMAND reads the pod's /etc/resolv.conf, /etc/hosts, /etc/hostname, its service-account
credentials (/var/run/secrets/kubernetes.io) and every ConfigMap, Secret, projected and downward
API volume the container mounts, at their original paths; everything else is local. Each is
copied once when the session starts and read natively after that. Opening them for writing fails
with EROFS: the pod is never modified. --fs-remote adds paths, --fs-local keeps paths local, and
--fs-mode local reads nothing from the pod but the --fs-remote paths; --fs-mode all reads every path
from the pod (on first use) except the local set: /proc, /sys, /dev, /tmp, /usr, /bin, /lib*, the
dynamic linker's files, home, the working directory, the program's own directory and toolchain
caches (--fs-local adds to it, --fs-remote takes from it).

Incoming: when COMMAND listens on a TCP port (not loopback only), the same port of the pod (or
the one --port-map names) is served to it. mirror (default) copies what clients send to the pod
into COMMAND, whose answers are dropped, while the pod's app keeps answering; steal hands the
connections to COMMAND, which answers; with --http-filter only matching HTTP/1.1 requests are
stolen, request by request, and the rest reach the pod's app. Incoming traffic needs a second
agent with NET_ADMIN (started the first time COMMAND listens); its redirect rules are removed
when the session ends.`,
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
  kubectl mirror run deploy/api --remote 10.96.0.0/12 --remote payments.internal:443 -- go run .`,
		RunE: completeValidateRun(o),
	}
	o.AddFlags(c.Flags())
	return c
}

// AddFlags binds the command's flags.
func (o *RunOptions) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.Container, "container", "c", "", "container of the pod to mirror (default: the kubectl.kubernetes.io/default-container annotation, else the first)")
	fs.StringVar(&o.AgentImage, "agent-image", o.AgentImage, "agent image injected into the pod")
	fs.StringVar(&o.AgentPullPolicy, "agent-image-pull-policy", o.AgentPullPolicy, "pull policy of the agent image: Always, IfNotPresent or Never")
	fs.DurationVar(&o.AgentIdleTimeout, "agent-idle-timeout", o.AgentIdleTimeout, "the agent exits after this long without a session")
	fs.DurationVar(&o.AgentStartupTimeout, "agent-startup-timeout", o.AgentStartupTimeout, "give up when the agent is not running after this long")
	fs.StringArrayVar(&o.EnvOverrides, "env", nil, "set KEY=VALUE in the program's environment, over the pod's (repeatable)")
	fs.StringArrayVar(&o.EnvInclude, "env-include", nil, "take only the pod's variables matching this glob (repeatable)")
	fs.StringArrayVar(&o.EnvExclude, "env-exclude", nil, "leave out the pod's variables matching this glob (repeatable)")
	fs.BoolVar(&o.EnvImport, "env-import", o.EnvImport, "take the pod's environment; --env-import=false takes none of it (--env still applies)")
	fs.StringVar(&o.EnvFile, "env-file", "", "also write the pod's variables (after the env rules) to FILE in dotenv syntax, mode 0600; with no COMMAND, write it and exit")
	o.ruleFlags.addFlags(fs)
	fs.BoolVar(&o.FSWrite, "fs-write", false, "carry the program's changes of the pod's files (write, create, mkdir, rename, unlink, chmod, truncate) out in the pod, as the container's user")
	fs.StringArrayVar(&o.FSMaps, "fs-map", nil, "serve the pod's REMOTE path (file or directory) from LOCAL on this machine, read-only: REMOTE=LOCAL (repeatable)")
	fs.StringVar(&o.Incoming, "incoming", o.Incoming, "what the program's listening ports get from the pod's: mirror, steal or off")
	fs.StringArrayVar(&o.HTTPFilters, "http-filter", nil, "with steal, take only HTTP requests matching 'header:NAME: REGEXP', 'path:REGEXP' or 'method:REGEXP' (repeatable, all must match)")
	fs.IntSliceVar(&o.IncomingPorts, "incoming-ports", nil, "local listening ports that take part (default: all)")
	fs.BoolVar(&o.IncomingTakeover, "incoming-takeover", false, "take a pod port another session holds instead of being refused (that session is told)")
	fs.StringArrayVar(&o.PortMaps, "port-map", nil, "LOCAL:REMOTE: the program's port LOCAL gets the pod's port REMOTE (repeatable)")
	fs.DurationVar(&o.DialTimeout, "dial-timeout", o.DialTimeout, "how long the pod tries to connect before the program's connect fails with ETIMEDOUT")
}

// Complete splits TARGET from the command after "--".
func (o *RunOptions) Complete(cmd *cobra.Command, args []string) error {
	dash := cmd.ArgsLenAtDash()
	switch {
	case dash >= 0:
		o.targetArgs, o.command = args[:dash], args[dash:]
	case o.EnvFile != "":
		o.targetArgs = args // write the environment file and exit
	default:
		return errors.New("no command given; usage: kubectl mirror run TARGET -- COMMAND [ARGS...]")
	}
	return nil
}

// Validate checks the arguments and flags.
func (o *RunOptions) Validate() error {
	if len(o.targetArgs) == 0 || len(o.targetArgs) > 2 {
		return errors.New("name one target, such as deploy/api or pod/api-0; usage: kubectl mirror run TARGET -- COMMAND [ARGS...]")
	}
	if len(o.command) == 0 && o.EnvFile == "" {
		return errors.New("no command given; usage: kubectl mirror run TARGET -- COMMAND [ARGS...]")
	}
	switch corev1.PullPolicy(o.AgentPullPolicy) {
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("--agent-image-pull-policy %q: use Always, IfNotPresent or Never", o.AgentPullPolicy)
	}
	for _, kv := range o.EnvOverrides {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("--env %q: use KEY=VALUE", kv)
		}
	}
	switch o.Incoming {
	case protocol.ModeMirror, protocol.ModeSteal, "off":
	default:
		return fmt.Errorf("--incoming %q: use mirror, steal or off", o.Incoming)
	}
	for _, f := range o.HTTPFilters {
		hf, err := parseHTTPFilter(f)
		if err != nil {
			return err
		}
		o.filters = append(o.filters, hf)
	}
	if len(o.filters) > 0 && o.Incoming != protocol.ModeSteal {
		return errors.New("--http-filter chooses what to steal: add --incoming steal")
	}
	o.portMap = map[int]int{}
	for _, pm := range o.PortMaps {
		l, r, ok := strings.Cut(pm, ":")
		lp, lerr := strconv.Atoi(l)
		rp, rerr := strconv.Atoi(r)
		if !ok || lerr != nil || rerr != nil || lp < 1 || lp > 65535 || rp < 1 || rp > 65535 {
			return fmt.Errorf("--port-map %q: use LOCAL:REMOTE, such as 3000:8080", pm)
		}
		o.portMap[lp] = rp
	}
	if err := o.ruleFlags.validate(); err != nil {
		return err
	}
	var err error
	o.fsMap, err = parseFSMaps(o.FSMaps)
	return err
}

// parseFSMaps reads --fs-map REMOTE=LOCAL values: an absolute pod path and
// a file or directory that exists here.
func parseFSMaps(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		remote, local, ok := strings.Cut(v, "=")
		if !ok || local == "" {
			return nil, fmt.Errorf("--fs-map %q: use REMOTE=LOCAL, e.g. /app/config=./config", v)
		}
		r, err := remotefiles.ParsePattern(remote)
		if err != nil {
			return nil, fmt.Errorf("--fs-map %w", err)
		}
		l, err := filepath.Abs(local)
		if err == nil {
			_, err = os.Stat(l)
		}
		if err != nil {
			return nil, fmt.Errorf("--fs-map %q: %s must exist on this machine", v, local)
		}
		out[r] = l
	}
	return out, nil
}

// parseHTTPFilter reads 'header:NAME: REGEXP', 'path:REGEXP' or 'method:REGEXP'.
func parseHTTPFilter(s string) (protocol.HTTPFilter, error) {
	kind, rest, _ := strings.Cut(s, ":")
	var f protocol.HTTPFilter
	switch kind {
	case protocol.FilterPath, protocol.FilterMethod:
		f = protocol.HTTPFilter{Kind: kind, Pattern: rest}
	case protocol.FilterHeader:
		name, pattern, ok := strings.Cut(rest, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return f, fmt.Errorf("--http-filter %q: use 'header:NAME: REGEXP'", s)
		}
		f = protocol.HTTPFilter{Kind: protocol.FilterHeader, Name: strings.TrimSpace(name), Pattern: strings.TrimSpace(pattern)}
	default:
		return f, fmt.Errorf("--http-filter %q: use 'header:NAME: REGEXP', 'path:REGEXP' or 'method:REGEXP'", s)
	}
	if _, err := f.Compile(); err != nil {
		return f, fmt.Errorf("--http-filter %q: %w", s, err)
	}
	return f, nil
}

// Run carries the session out and passes the program's exit code on.
func (o *RunOptions) Run(ctx context.Context) error {
	overrides := map[string]string{}
	for _, kv := range o.EnvOverrides {
		k, v, _ := strings.Cut(kv, "=")
		overrides[k] = v
	}
	keyPath, err := userkey.DefaultPath()
	if err != nil {
		return err
	}
	key, err := userkey.LoadOrCreate(keyPath)
	if err != nil {
		return fmt.Errorf("your kubectl mirror key: %w", err)
	}
	cfg := mirror.Config{
		Getter:      o.kube,
		ContextName: contextName(o.kube),
		TargetArgs:  o.targetArgs,
		Container:   o.Container,
		Command:     o.command,
		Agent: mirror.AgentConfig{
			Image:          o.AgentImage,
			PullPolicy:     corev1.PullPolicy(o.AgentPullPolicy),
			IdleTimeout:    o.AgentIdleTimeout,
			StartupTimeout: o.AgentStartupTimeout,
			Key:            key,
		},
		Env:           envmerge.Rules{Include: o.EnvInclude, Exclude: o.EnvExclude, Overrides: overrides, None: !o.EnvImport},
		EnvFile:       o.EnvFile,
		Outgoing:      o.rules,
		LocalHosts:    o.localHosts,
		RemoteHosts:   o.remoteHosts,
		DialTimeout:   o.DialTimeout,
		FSMode:        o.FSMode,
		FSRemote:      o.FSRemote,
		FSLocal:       o.FSLocal,
		FSMap:         o.fsMap,
		FSWrite:       o.FSWrite,
		FilesDir:      remotefiles.BaseDir(),
		Incoming:      o.Incoming,
		HTTPFilters:   o.filters,
		IncomingPorts: o.IncomingPorts,
		Takeover:      o.IncomingTakeover,
		PortMap:       o.portMap,
		Stdin:         fileOr(o.In, os.Stdin),
		Stdout:        fileOr(o.Out, os.Stdout),
		Stderr:        fileOr(o.ErrOut, os.Stderr),
		Progress:      func(line string) { fmt.Fprintf(o.ErrOut, "kubectl mirror: %s\n", line) },
		Logger:        o.logger,
	}
	status, err := mirror.Run(ctx, cfg)
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
