// Package doctor checks, one line each, what a run needs from the kubeconfig, the
// cluster and this machine, and says what to fix: the command a user runs when
// "it doesn't work on my cluster".
package doctor

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/run"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// State is how a check ended.
type State string

// A warning is something that limits a run (no incoming in this namespace)
// without stopping it; only a failure makes doctor exit non-zero.
const (
	Pass    State = "pass"
	Warn    State = "warn"
	Fail    State = "fail"
	Skipped State = "skipped"
)

// Check is one line of the report.
type Check struct {
	Name   string `json:"name"`
	State  State  `json:"state"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Config is what doctor checks: the run a user would make.
type Config struct {
	Getter      genericclioptions.RESTClientGetter
	ContextName string
	// Run carries the target and the agent settings; with no target the agent
	// and the round trip are skipped.
	Run run.Config
	// Pings is how many round trips through the agent are timed.
	Pings int
}

// Run makes every check, in the order a run meets them; a check that cannot be
// made because an earlier one failed is skipped, naming which.
func Run(ctx context.Context, cfg Config) []Check {
	var out []Check
	add := func(c Check) { out = append(out, c) }

	raw, err := cfg.Getter.ToRawKubeConfigLoader().RawConfig()
	ctxName := cfg.ContextName
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	kctx, ok := raw.Contexts[ctxName]
	if err != nil || !ok {
		add(Check{Name: "kubeconfig", State: Fail, Detail: fmt.Sprintf("no context %q in the kubeconfig", ctxName),
			Fix: "set KUBECONFIG, or pass --kubeconfig and --context"})
		return out
	}
	server := ""
	if c, ok := raw.Clusters[kctx.Cluster]; ok {
		server = c.Server
	}
	add(Check{Name: "kubeconfig", State: Pass, Detail: fmt.Sprintf("context %s, cluster %s (%s)", ctxName, kctx.Cluster, server)})

	restCfg, err := cfg.Getter.ToRESTConfig()
	if err == nil {
		err = kube.CheckReachable(restCfg, ctxName)
	}
	var cs *kubernetes.Clientset
	if err == nil {
		cs, err = kubernetes.NewForConfig(restCfg)
	}
	if err != nil {
		add(Check{Name: "API server", State: Fail, Detail: err.Error(), Fix: "check the cluster address, your network or VPN, and your credentials"})
		return out
	}
	version := "version unknown"
	if v, err := cs.Discovery().ServerVersion(); err == nil {
		version = "Kubernetes " + v.GitVersion
	}
	add(Check{Name: "API server", State: Pass, Detail: server + " answers: " + version})

	ns, _, err := cfg.Getter.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		ns = "default"
	}
	rbacOK := true
	for _, p := range kube.Permissions(cfg.Run.Targetless()) {
		allowed, err := p.Allowed(ctx, cs, ns)
		switch {
		case err != nil:
			rbacOK = false
			add(Check{Name: "RBAC", State: Fail, Detail: fmt.Sprintf("cannot ask whether you may %s: %v", p, err)})
		case !allowed:
			rbacOK = false
			add(Check{Name: "RBAC", State: Fail, Detail: fmt.Sprintf("you may not %s in namespace %s", p, ns),
				Fix: "ask for an RBAC rule granting it (deploy/rbac.yaml in the repository has the Role run needs)"})
		default:
			add(Check{Name: "RBAC", State: Pass, Detail: fmt.Sprintf("you may %s in namespace %s", p, ns)})
		}
	}

	// --copy-target and --scale-down need more; lacking them is no failure
	// of run, only of those flags.
	var missing []string
	for _, p := range kube.CopyPermissions() {
		if allowed, err := p.Allowed(ctx, cs, ns); err != nil || !allowed {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		add(Check{Name: "RBAC", State: Warn, Detail: fmt.Sprintf("--copy-target/--scale-down would be refused in namespace %s: you may not %s", ns, strings.Join(missing, ", ")),
			Fix: "ask for deploy/rbac.yaml's kubectl-mirror-copy Role if you need them"})
	} else {
		add(Check{Name: "RBAC", State: Pass, Detail: "you may use --copy-target and --scale-down in namespace " + ns})
	}

	if level, known := kube.EnforcedPodSecurity(ctx, cs, ns); !known {
		add(Check{Name: "Pod Security", State: Warn, Detail: "cannot read namespace " + ns + "'s Pod Security level; incoming is tried and refused if it forbids NET_ADMIN"})
	} else if kube.ForbidsNetAdmin(level) {
		add(Check{Name: "Pod Security", State: Warn, Detail: fmt.Sprintf("namespace %s enforces %q: incoming (mirror, steal) is refused there; outgoing, env and files work", ns, level)})
	} else {
		add(Check{Name: "Pod Security", State: Pass, Detail: fmt.Sprintf("namespace %s enforces %s: incoming allowed", ns, orNone(level))})
	}

	out = append(out, agentChecks(ctx, cfg, rbacOK)...)
	out = append(out, machineChecks()...)
	return out
}

func orNone(level string) string {
	if level == "" {
		return "no level"
	}
	return level
}

// agentChecks starts or reuses the agent in the target (which proves the image
// pull and the port-forward) and times round trips through it.
func agentChecks(ctx context.Context, cfg Config, rbacOK bool) []Check {
	if len(cfg.Run.TargetArgs) == 0 {
		why := "name a target (kubectl mirror doctor deploy/api) to check the agent and the round trip"
		return []Check{{Name: "agent", State: Skipped, Detail: why}, {Name: "round trip", State: Skipped, Detail: why}}
	}
	if !rbacOK {
		why := "skipped: the RBAC checks above failed"
		return []Check{{Name: "agent", State: Skipped, Detail: why}, {Name: "round trip", State: Skipped, Detail: why}}
	}
	start := time.Now()
	sess, target, err := run.Open(ctx, cfg.Run)
	if err != nil {
		return []Check{{Name: "agent", State: Fail, Detail: err.Error()},
			{Name: "round trip", State: Skipped, Detail: "skipped: no agent"}}
	}
	defer sess.Close()
	w := sess.Agent()
	agent := Check{Name: "agent", State: Pass, Detail: fmt.Sprintf("agent %s answers in pod/%s (container %s) after %s, its image pulled and port-forward working",
		w.AgentVersion, target.Pod.Name, target.Container, time.Since(start).Round(time.Millisecond))}
	n := max(cfg.Pings, 1)
	var rtts []time.Duration
	for range n {
		t := time.Now()
		if _, err := sess.Statfs("/"); err != nil {
			return []Check{agent, {Name: "round trip", State: Fail, Detail: "a request through the agent failed: " + err.Error()}}
		}
		rtts = append(rtts, time.Since(t))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	trip := Check{Name: "round trip", State: Pass, Detail: fmt.Sprintf("median %s, slowest %s over %d requests through the agent (each connect, DNS query and file read of the program pays one)",
		rtts[len(rtts)/2].Round(10*time.Microsecond), slices.Max(rtts).Round(10*time.Microsecond), n)}
	return []Check{agent, trip}
}

// machineChecks: the kernel features the tracer needs, and where it runs.
func machineChecks() []Check {
	var out []Check
	for _, f := range tracer.Features(true) {
		switch {
		case f.Err != nil && f.DebuggerOnly:
			out = append(out, Check{Name: "kernel", State: Warn, Detail: fmt.Sprintf("%s is refused (%v): debuggers (dlv, gdb) cannot run under the plugin; other programs can", f.What, f.Err), Fix: f.Fix()})
		case f.Err != nil:
			out = append(out, Check{Name: "kernel", State: Fail, Detail: fmt.Sprintf("%s is refused: %v", f.What, f.Err), Fix: f.Fix()})
		default:
			out = append(out, Check{Name: "kernel", State: Pass, Detail: f.What})
		}
	}
	if where := container(); where != "" {
		out = append(out, Check{Name: "machine", State: Pass, Detail: "inside a container (" + where + ")"})
	} else {
		out = append(out, Check{Name: "machine", State: Pass, Detail: "on the host, not in a container"})
	}
	return out
}

// Failed: some check failed.
func Failed(checks []Check) bool {
	return slices.ContainsFunc(checks, func(c Check) bool { return c.State == Fail })
}
