// Package run carries out `kubectl mirror run`: resolve the target, make
// sure an agent runs in its pod, connect, and run the program under the
// tracer with the pod's environment.
package run

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/envmerge"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/incoming"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/launch"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
	"go.uber.org/zap"
)

// IncomingOff: the program's listening ports stay local.
const IncomingOff protocol.Mode = "off"

// Config is one run, as the command filled it in.
type Config struct {
	Getter genericclioptions.RESTClientGetter
	// ContextName names the kubeconfig context in messages.
	ContextName string
	TargetArgs  []string
	Container   string
	Command     []string
	Agent       AgentConfig
	Copy        CopyConfig // --copy-target (copytarget.go)
	Env         envmerge.Rules
	// EnvFile, when set, receives the pod's variables (after Env's rules)
	// in dotenv syntax; with no Command, that is all the run does.
	EnvFile string
	// Outgoing decides which destinations go through the pod; LocalHosts and
	// RemoteHosts are rules naming hosts, resolved once connected.
	Outgoing    outgoing.Rules
	LocalHosts  []outgoing.HostRule
	RemoteHosts []outgoing.HostRule
	DialTimeout time.Duration
	// Files: FSMode "local" reads no file from the pod but FSRemote; else the
	// default set, the container's config mounts and FSRemote do, minus
	// FSLocal; "all" also reads every other path outside the local set
	// (remotefiles.DefaultLocal, SessionLocal) from the pod on first use.
	FSMode   string
	FSRemote []string
	FSLocal  []string
	FSMap    map[string]remotefiles.Mapping // pod path -> local file or directory serving it
	FSWrite  bool                           // the program's changes of the pod's files are made in the pod
	// FSView: "mount" serves the files by the program's own mount namespace
	// (remotefiles.MountView), "stops" by stopping its file calls, "auto"
	// (or "") by the first where the session and this machine allow it.
	FSView string
	// FilesDir holds the sessions' private copies (remotefiles.BaseDir).
	FilesDir string
	// Incoming: mirror, steal or IncomingOff for the program's listening ports.
	Incoming      protocol.Mode
	HTTPFilters   []protocol.HTTPFilter
	IncomingPorts []int
	Takeover      bool // take ports other sessions hold
	PortMap       map[int]int
	// IncomingAsked: the user named incoming traffic (a flag or the project
	// file), so a target that cannot have it is refused; the default mirror
	// is then turned off instead.
	IncomingAsked bool
	// MirrorProbes copies the kubelet's probes to the program under mirror.
	MirrorProbes bool
	// IncomingHostNetwork accepts redirects in the node's network namespace
	// for a target pod with hostNetwork: true.
	IncomingHostNetwork bool
	// Processes decides which programs run native (build tools) and
	// which are intercepted.
	Processes tracer.Policy
	// Engine serves the program's intercepted calls (the zero Engine: the
	// default, hybrid).
	Engine tracer.Engine

	Stdin, Stdout, Stderr *os.File
	Progress              func(string)
	Logger                *zap.Logger // nil: quiet
}

// Targetless: no target was named; the run's agent lives in a pod of its
// own, and only outgoing traffic and DNS go through it.
func (c Config) Targetless() bool { return len(c.TargetArgs) == 0 }

// AgentConfig is how the agent is injected.
type AgentConfig struct {
	Image          string
	PullPolicy     corev1.PullPolicy
	IdleTimeout    time.Duration
	StartupTimeout time.Duration
	// Key proves to an agent that this user started it; its public half is
	// all the pod spec holds.
	Key ed25519.PrivateKey
	// ImageIDs remembers the image the user's agents ran (nil: no check).
	ImageIDs kube.ImageIDs
}

// Run runs the program against the target and returns how it ended.
func Run(ctx context.Context, cfg Config) (tracer.Status, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	restCfg, err := cfg.Getter.ToRESTConfig()
	if err != nil {
		return tracer.Status{}, err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return tracer.Status{}, err
	}
	if err := kube.CheckReachable(restCfg, cfg.ContextName); err != nil {
		return tracer.Status{}, err
	}
	if cfg.Copy.Enabled {
		undo, err := startCopy(ctx, &cfg, cs)
		if err != nil {
			return tracer.Status{}, err
		}
		defer undo()
	}
	dial := agentDialer{cfg: cfg, restCfg: restCfg, cs: cs}
	target, establish, err := prepare(ctx, cfg, dial)
	if err != nil {
		return tracer.Status{}, err
	}
	// Decided before establish adds the first agent.
	if cfg.Incoming, err = incomingMode(ctx, cfg, cs, target); err != nil {
		return tracer.Status{}, err
	}
	dial.cfg.Incoming = cfg.Incoming
	sess, err := session.New(ctx, establish, session.Options{Progress: cfg.Progress, Logger: cfg.Logger})
	if err != nil {
		return tracer.Status{}, err
	}
	defer sess.Close()
	var remoteEnv []string
	if !cfg.Targetless() {
		if remoteEnv, err = sess.Env(); err != nil {
			return tracer.Status{}, err
		}
	}
	env := envmerge.Merge(os.Environ(), remoteEnv, cfg.Env)
	if cfg.EnvFile != "" {
		podEnv := envmerge.Merge(nil, remoteEnv, cfg.Env)
		// 0600: the pod's variables often hold credentials.
		if err := os.WriteFile(cfg.EnvFile, []byte(envmerge.Dotenv(podEnv)), 0o600); err != nil {
			return tracer.Status{}, fmt.Errorf("--env-file: %w", err)
		}
		progress(cfg, fmt.Sprintf("wrote %d variables of the pod to %s", len(podEnv), cfg.EnvFile))
		if len(cfg.Command) == 0 {
			return tracer.Status{}, nil
		}
	}

	files, err := remotefiles.NewCache(cfg.FilesDir, cfg.FSLocal)
	if err != nil {
		return tracer.Status{}, err
	}
	defer files.Close()
	roots := remoteRoots(cfg, target)
	own, named := remotefiles.OwnPlacesOf(cfg.Command[0]).Except(cfg.FSRemote, roots)
	for _, p := range named {
		progress(cfg, fmt.Sprintf("--fs-remote %s names the program's own directory: it is read from the pod, which will likely break the program", p))
	}
	merged := []string{"/"}
	if cfg.FSMode == "all" {
		// The ancestors list the pod's entries and this machine's (ReadAll).
		for i := len(own.Ancestors) - 1; i >= 0; i-- { // from the top down
			merged = append(merged, own.Ancestors[i])
		}
		own.Ancestors = nil
	}
	files.KeepLocal(own)
	cfg.Logger.Info("stay local", zap.Strings("trees", own.Trees), zap.Strings("directories", own.Ancestors))
	if err := files.Fetch(sess, roots...); err != nil {
		return tracer.Status{}, err
	}
	if cfg.FSWrite {
		if err := files.Writable(sess); err != nil {
			return tracer.Status{}, fmt.Errorf("--fs-write: %w", err)
		}
	}
	for remote, local := range cfg.FSMap {
		files.Map(remote, local)
	}
	if cfg.FSMode == "all" {
		if err := files.ReadAll(sess, remotefiles.SessionLocal(cfg.Command[0]), merged); err != nil {
			return tracer.Status{}, err
		}
	}
	rules, err := completeRules(ctx, cfg, sess)
	if err != nil {
		return tracer.Status{}, err
	}
	cfg.Logger.Info("session ready", zap.String("agent", sess.Agent().AgentVersion), zap.Int("env", len(remoteEnv)),
		zap.Int("localRules", len(rules.Local)), zap.Int("remoteRules", len(rules.Remote)))
	out := outgoing.New(sess, outgoing.Config{Rules: rules, DialTimeout: cfg.DialTimeout, Logger: cfg.Logger})
	defer out.Close()
	var in *incoming.Manager
	if cfg.Incoming != IncomingOff {
		var stop func()
		in, stop = startIncoming(ctx, dial, target)
		defer stop()
	}
	if err := ctx.Err(); err != nil {
		return tracer.Status{}, err // interrupted while setting up: do not start the program
	}
	hostname := podHostname(files)
	domainname := sess.Agent().Domainname
	if domainname != "" {
		_ = files.Provide("/proc/sys/kernel/domainname", []byte(domainname+"\n"))
	}
	mounts, err := mountView(cfg, files, hostname, domainname)
	if err != nil {
		return tracer.Status{}, err
	}
	status, err := runProgram(ctx, cfg, env, hostname, domainname, mounts, handler{out: out, files: files, pod: sess, in: in})
	out.Settle()
	var c closing
	c.fetches, c.fetchedBytes = files.Stats()
	if cfg.FSWrite {
		files.Flush()
		c.written, c.refused = files.Written()
	}
	if in != nil {
		c.incoming = in.Connections()
	}
	progress(cfg, summary(out.Stats.Parts(), c))
	return status, err
}

// podHostname is the pod's host name (its /etc/hostname), which uname and
// /proc/sys/kernel/hostname (what Go's os.Hostname reads) then report;
// "" when the pod's /etc/hostname is not read.
func podHostname(files *remotefiles.Cache) string {
	b, ok := files.Read("/etc/hostname")
	name := strings.TrimSpace(string(b))
	if !ok || name == "" {
		return ""
	}
	_ = files.Provide("/proc/sys/kernel/hostname", []byte(name+"\n"))
	return name
}

// remoteRoots lists what is read from the pod.
// prepare resolves the target and checks permissions, and returns how the
// session reaches its agent. A dropped port-forward is made again (the agent
// found again, or a new one started if it is gone); connections in flight on
// it are reset. A workload's session moves to another Ready pod when its pod
// goes. A targetless run has its own agent pod.
func prepare(ctx context.Context, cfg Config, dial agentDialer) (kube.Target, func(context.Context) (*session.Link, error), error) {
	if cfg.Targetless() {
		ns, _, err := cfg.Getter.ToRawKubeConfigLoader().Namespace()
		if err != nil {
			return kube.Target{}, nil, err
		}
		if err := kube.PreflightTargetless(ctx, dial.cs, ns); err != nil {
			return kube.Target{}, nil, err
		}
		progress(cfg, fmt.Sprintf("no target: outgoing traffic and DNS leave from an agent pod in namespace %s; environment and files stay local", ns))
		establish := func(ctx context.Context) (*session.Link, error) { return dial.connectTargetless(ctx, ns) }
		return kube.Target{Namespace: ns}, establish, nil
	}
	target, err := resolve(ctx, cfg, dial.cs)
	if err != nil {
		return kube.Target{}, nil, err
	}
	if err := kube.Preflight(ctx, dial.cs, target.Namespace); err != nil {
		return kube.Target{}, nil, err
	}
	return target, newFollower(dial, target).establish, nil
}

// targetlessRoots: a run with no target reads the agent pod's resolv.conf
// alone, so that cluster names resolve as in the namespace.
var targetlessRoots = []string{"/etc/resolv.conf"}

func remoteRoots(cfg Config, t kube.Target) []string {
	if cfg.Targetless() {
		return targetlessRoots
	}
	roots := append([]string{}, cfg.FSRemote...)
	if cfg.FSMode != "local" {
		roots = append(append(roots, remotefiles.DefaultRoots...), remotefiles.MountRoots(t.Pod, t.Container)...)
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range roots {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// handler routes socket calls to the outgoing proxies (listen to incoming)
// and path calls to the remote files.
type handler struct {
	out   *outgoing.Handler
	files *remotefiles.Cache
	pod   remotefiles.StatfsAsker
	in    *incoming.Manager // nil: incoming off
}

func (h handler) Socket(c *tracer.Call) tracer.Verdict {
	switch {
	case c.Syscall == tracer.SysListen:
		if h.in != nil {
			h.in.OnListen(c)
		}
		return tracer.Allow()
	case h.in == nil:
	case c.Syscall == tracer.SysAccept || c.Syscall == tracer.SysAccept4:
		// A connection handed over from the pod names the pod's client.
		return tracer.Allow().AtExit(h.in.Accepted)
	case c.Syscall == tracer.SysClose || c.Syscall == tracer.SysShutdown:
		// The last listening socket of a port gives it back before it closes.
		return h.in.OnClose(c)
	case c.Syscall == tracer.SysGetpeername:
		// Incoming first: once it names a client, the address is no longer
		// loopback and the outgoing fix-up leaves it alone.
		return tracer.Allow().AtExit(func(e *tracer.Exit) {
			h.in.RestoreClient(e)
			h.out.RestorePeer(e)
		})
	}
	return h.out.Socket(c)
}
func (h handler) Path(c *tracer.Call) tracer.Verdict {
	if c.Syscall == tracer.SysStatfs || c.Syscall == tracer.SysFstatfs {
		return h.files.Statfs(c, h.pod)
	}
	if c.Syscall.IsStat() {
		return h.files.Stat(c)
	}
	return h.files.Path(c)
}

// completeRules resolves the host rules: --local names here, --remote names
// in the pod.
func completeRules(ctx context.Context, cfg Config, sess *session.Session) (outgoing.Rules, error) {
	var inPod func(context.Context, string) ([]netip.Addr, error)
	if len(cfg.RemoteHosts) > 0 {
		rc, _, err := sess.File("/etc/resolv.conf")
		if err != nil {
			return cfg.Outgoing, err
		}
		inPod = outgoing.PodLookup(sess, rc)
	}
	return cfg.Outgoing.Resolve(ctx, cfg.LocalHosts, cfg.RemoteHosts, outgoing.LookupHere, inPod)
}

func resolve(ctx context.Context, cfg Config, cs kubernetes.Interface) (kube.Target, error) {
	ns, _, err := cfg.Getter.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return kube.Target{}, err
	}
	obj, ref, err := kube.FindObject(cfg.Getter, ns, cfg.TargetArgs)
	if err != nil {
		return kube.Target{}, kube.ExplainNotFound(ctx, cs, ns, cfg.TargetArgs, err)
	}
	restoreLeftScaledDown(ctx, cfg, cs, ns, obj)
	pod, sel, err := kube.PodSelector(obj)
	if err != nil {
		return kube.Target{}, err
	}
	if pod == nil {
		if pod, err = kube.PickReadyPod(ctx, cs, ns, sel, ref); err != nil {
			return kube.Target{}, err
		}
	} else if !kube.IsReady(pod) {
		return kube.Target{}, fmt.Errorf("pod/%s: %w: it is %s; wait until it is Ready, or name another pod", pod.Name, kube.ErrNoReadyPod, pod.Status.Phase)
	}
	container, err := kube.PickContainer(pod, cfg.Container)
	if err != nil {
		return kube.Target{}, err
	}
	progress(cfg, fmt.Sprintf("target %s: pod/%s, container %s", ref, pod.Name, container))
	return kube.Target{Namespace: ns, Pod: pod, Container: container, Ref: ref, Selector: sel}, nil
}

// runProgram runs the command under the tracer. A Ctrl-C reaches the program
// straight from the terminal; SIGTERM and SIGHUP to the plugin are passed on.
func runProgram(ctx context.Context, cfg Config, env []string, hostname, domainname string, mounts *tracer.MountView, h tracer.Handler) (tracer.Status, error) {
	// The tracer looks Path up on this machine's PATH, not env's: with
	// --env-include PATH, env holds the pod's, where the program is not.
	return launch.Run(ctx, tracer.Config{
		Path: cfg.Command[0], Args: cfg.Command, Env: env,
		Stdin: cfg.Stdin, Stdout: cfg.Stdout, Stderr: cfg.Stderr,
		Handler: h, Hostname: hostname, Domainname: domainname, Policy: cfg.Processes, Engine: cfg.Engine, Mounts: mounts, Logger: cfg.Logger,
	})
}

func progress(cfg Config, line string) {
	if cfg.Progress != nil {
		cfg.Progress(line)
	}
}
