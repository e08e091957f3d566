package run

import (
	"context"

	"go.uber.org/zap"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// Open connects to the target's agent as a run does (finding the user's agent or
// adding one, with no incoming tier) and returns the session, for `doctor`;
// the caller closes it. No program runs.
func Open(ctx context.Context, cfg Config) (*session.Session, kube.Target, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	restCfg, err := cfg.Getter.ToRESTConfig()
	if err != nil {
		return nil, kube.Target{}, err
	}
	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, kube.Target{}, err
	}
	cfg.Incoming = IncomingOff
	dial := agentDialer{cfg: cfg, restCfg: restCfg, cs: cs}
	target, establish, err := prepare(ctx, cfg, dial)
	if err != nil {
		return nil, kube.Target{}, err
	}
	sess, err := session.New(ctx, establish, session.Options{Progress: cfg.Progress, Logger: cfg.Logger})
	if err != nil {
		return nil, kube.Target{}, err
	}
	return sess, target, nil
}
