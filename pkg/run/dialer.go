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

// connect reaches the pod's agent, starting one when none is usable. A reused
// agent that refuses us (another release, or it just exited) is replaced.
func (d agentDialer) connect(ctx context.Context, t kube.Target, netAdmin bool, mayStart func() bool) (*session.Link, error) {
	cfg, restCfg, cs := d.cfg, d.restCfg, d.cs
	opts := kube.AgentOptions{
		Image: cfg.Agent.Image, PullPolicy: cfg.Agent.PullPolicy,
		IdleTimeout: cfg.Agent.IdleTimeout, StartupTimeout: cfg.Agent.StartupTimeout,
		NetAdmin: netAdmin, Progress: cfg.Progress, MayStart: mayStart,
		Key: protocol.EncodeKey(cfg.Agent.Key.Public().(ed25519.PublicKey)),
	}
	for attempt := 0; ; attempt++ {
		agent, err := kube.EnsureAgent(ctx, cs, t.Pod, t.Container, opts)
		if err != nil {
			return nil, err
		}
		dial := func() (net.Conn, error) { return kube.DialPod(restCfg, cs, t.Namespace, t.Pod.Name, agent.Port) }
		wait := 10 * time.Second
		if agent.Reused {
			wait = 2 * time.Second
		}
		cctx, cancel := context.WithTimeout(ctx, wait)
		sess, err := session.Connect(cctx, dial, version.Version, cfg.Agent.Key)
		cancel()
		if err == nil {
			return sess, nil
		}
		if !agent.Reused || attempt > 0 {
			if errors.Is(err, protocol.ErrVersionMismatch) {
				return nil, fmt.Errorf("%w: use --agent-image with the image of this plugin's version (%s)", err, version.AgentImage())
			}
			return nil, err
		}
		progress(cfg, fmt.Sprintf("agent %s did not answer (%v); starting a new one", agent.Name, err))
		opts.Avoid = agent.Name
	}
}
