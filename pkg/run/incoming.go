package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/incoming"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// startIncoming serves the program's listening ports on every Ready pod of
// the target (the named pod for pod/NAME), each through an agent of its own
// that holds NET_ADMIN, made the first time a port is served there.
func startIncoming(ctx context.Context, dial agentDialer, target kube.Target) (*incoming.Manager, func()) {
	cfg, cs := dial.cfg, dial.cs
	// The pods are followed for the session's whole life: a Ctrl-C the
	// program survives does not end it.
	podCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	var pods <-chan []string
	if target.Selector != nil {
		pods = kube.WatchReadyPods(podCtx, cs, target)
	} else {
		one := make(chan []string, 1)
		one <- []string{target.Pod.Name}
		close(one)
		pods = one
	}
	var gates sync.Map // pod name -> *startGate
	in := incoming.New(incoming.Config{
		Mode: cfg.Incoming, Filters: cfg.HTTPFilters, Ports: cfg.IncomingPorts, PortMap: cfg.PortMap, Takeover: cfg.Takeover, MirrorProbes: cfg.MirrorProbes,
		ProbePaths: kube.ProbePaths(target.Pod, target.Container),
		Pods:       pods,
		Workload:   target.Selector != nil,
		Session:    randomID(),
		Holder:     holder(cfg),
		NewSession: func(pod string, reconnected func()) (*session.Session, error) {
			g, _ := gates.LoadOrStore(pod, &startGate{})
			t := target
			t.Pod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: target.Namespace}}
			establish := func(ctx context.Context) (*session.Link, error) {
				return dial.connect(ctx, t, true, g.(*startGate).mayStart)
			}
			// The session lives as long as incoming does, not the run's ctx.
			return session.New(podCtx, establish, session.Options{Progress: cfg.Progress,
				Logger: cfg.Logger.With(zap.String("pod", pod)), Reconnected: reconnected,
				Answer: claimAnswerer(podCtx, cs, target.Namespace, pod, cfg.Agent.Key)})
		},
		Progress: cfg.Progress,
		Logger:   cfg.Logger,
	})
	return in, func() { stop(); in.Close() }
}

// randomID names this run to the agents.
func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// holder describes this run to another user whose steal of the same port it
// refuses: the kubeconfig user and this machine.
func holder(cfg Config) string {
	user := "unknown user"
	if raw, err := cfg.Getter.ToRawKubeConfigLoader().RawConfig(); err == nil {
		if c, ok := raw.Contexts[cfg.ContextName]; ok && c.AuthInfo != "" {
			user = c.AuthInfo
		}
	}
	host, err := os.Hostname()
	if err != nil {
		host = "an unknown host"
	}
	return fmt.Sprintf("kubectl mirror of %s on %s", user, host)
}
