package run

import (
	"context"
	"errors"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/incoming"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// OpenSteal connects to the target's agent as Open does and starts
// incoming traffic as `run --incoming steal` does: the same refusals before
// any agent is added (host network, Pod Security), agents that hold
// NET_ADMIN on every Ready pod of the target, claims that share or refuse
// as a program's do, cfg.HTTPFilters and cfg.Takeover. No program runs: the
// caller serves each pod port with the manager's Forward (port-forward -R).
// stop ends every redirect; the caller also closes the session.
func OpenSteal(ctx context.Context, cfg Config) (sess *session.Session, target kube.Target, in *incoming.Manager, stop func(), err error) {
	if cfg.Targetless() {
		return nil, kube.Target{}, nil, nil, errors.New("a pod's port is stolen from a target: name one, such as deploy/api")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	restCfg, err := cfg.Getter.ToRESTConfig()
	if err != nil {
		return nil, kube.Target{}, nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, kube.Target{}, nil, nil, err
	}
	if err := kube.CheckReachable(restCfg, cfg.ContextName); err != nil {
		return nil, kube.Target{}, nil, nil, err
	}
	dial := agentDialer{cfg: cfg, restCfg: restCfg, cs: cs}
	target, establish, err := prepare(ctx, cfg, dial)
	if err != nil {
		return nil, kube.Target{}, nil, nil, err
	}
	cfg.Incoming, cfg.IncomingAsked = protocol.ModeSteal, true
	if cfg.Incoming, err = incomingMode(ctx, cfg, cs, target); err != nil {
		return nil, kube.Target{}, nil, nil, err
	}
	dial.cfg = cfg
	sess, err = session.New(ctx, establish, session.Options{Progress: cfg.Progress, Logger: cfg.Logger})
	if err != nil {
		return nil, kube.Target{}, nil, nil, err
	}
	in, stop = startIncoming(ctx, dial, target)
	return sess, target, in, stop, nil
}
