package run

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// agentDialer links the session to an agent in a pod of the target, reusing
// the user's agent there or starting one.
type agentDialer struct {
	cfg     Config
	restCfg *rest.Config
	cs      kubernetes.Interface
}

// agentOptions is how this run's agents are started.
func (d agentDialer) agentOptions(netAdmin bool, mayStart func(bool) bool) kube.AgentOptions {
	cfg := d.cfg
	return kube.AgentOptions{
		Image: cfg.Agent.Image, PullPolicy: cfg.Agent.PullPolicy,
		IdleTimeout: cfg.Agent.IdleTimeout, StartupTimeout: cfg.Agent.StartupTimeout,
		NetAdmin: netAdmin, Progress: cfg.Progress, MayStart: mayStart,
		Debug:    func(line string) { cfg.Logger.Info(line) },
		ImageIDs: cfg.Agent.ImageIDs,
		Key:      protocol.EncodeKey(cfg.Agent.Key.Public().(ed25519.PublicKey)),
	}
}

// connect reaches the pod's agent, starting one when none is usable.
func (d agentDialer) connect(ctx context.Context, t kube.Target, netAdmin bool, mayStart func(bool) bool) (*session.Link, error) {
	opts := d.agentOptions(netAdmin, mayStart)
	return d.link(ctx, func(avoid string) (agentAt, error) {
		opts.Avoid = avoid
		a, err := kube.EnsureAgent(ctx, d.cs, t.Pod, t.Container, opts)
		return agentAt{namespace: t.Namespace, pod: t.Pod.Name, name: a.Name, port: a.Port, reused: a.Reused, identity: a.Identity, ephemeral: true}, err
	})
}

// connectTargetless reaches the user's agent pod in namespace, starting one
// when none is usable (a run with no target).
func (d agentDialer) connectTargetless(ctx context.Context, namespace string) (*session.Link, error) {
	opts := d.agentOptions(false, nil)
	return d.link(ctx, func(avoid string) (agentAt, error) {
		a, err := kube.EnsureAgentPod(ctx, d.cs, namespace, opts, avoid)
		return agentAt{namespace: namespace, pod: a.Pod, name: a.Pod, port: a.Port, reused: a.Reused, identity: a.Identity}, err
	})
}

// exitedWait bounds the wait for the kubelet to report an agent that did
// not answer as exited.
const exitedWait = 3 * time.Second

// agentAt is where an agent listens.
type agentAt struct {
	namespace, pod, name string
	port                 int
	reused               bool
	identity             string // what the user's proof is made for
	ephemeral            bool   // an ephemeral container (else a Job's pod)
}

// link connects to the agent ensure returns. A reused agent that refuses us
// (another release, or it just exited) is replaced: ensure is asked again,
// told to avoid it.
func (d agentDialer) link(ctx context.Context, ensure func(avoid string) (agentAt, error)) (*session.Link, error) {
	cfg, restCfg, cs := d.cfg, d.restCfg, d.cs
	avoid := ""
	for attempt := 0; ; attempt++ {
		agent, err := ensure(avoid)
		if err != nil {
			return nil, err
		}
		dial := func() (net.Conn, error) { return kube.DialPod(restCfg, cs, agent.namespace, agent.pod, agent.port) }
		wait := 10 * time.Second
		if agent.reused {
			wait = 2 * time.Second
		}
		cctx, cancel := context.WithTimeout(ctx, wait)
		sess, err := session.Connect(cctx, dial, version.Version, cfg.Agent.Key, agent.identity)
		cancel()
		if err == nil {
			return sess, nil
		}
		if !agent.reused || attempt > 0 {
			if errors.Is(err, protocol.ErrVersionMismatch) {
				return nil, fmt.Errorf("%w: use --agent-image with the image of this plugin's version (%s)", err, version.AgentImage())
			}
			return nil, err
		}
		if agent.ephemeral {
			// A killed agent shows as running for a moment: give the kubelet
			// time to say so, and it is replaced at once.
			kube.WaitExited(ctx, cs, agent.namespace, agent.pod, agent.name, exitedWait)
		}
		progress(cfg, fmt.Sprintf("agent %s did not answer (%v); starting a new one", agent.name, err))
		avoid = agent.name
	}
}
