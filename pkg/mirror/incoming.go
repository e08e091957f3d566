package mirror

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/incoming"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// startIncoming serves the program's listening ports on every Ready pod of
// the target (the named pod for pod/NAME), each through an agent of its own
// that holds NET_ADMIN, made the first time a port is served there.
func startIncoming(ctx context.Context, cfg Config, restCfg *rest.Config, cs kubernetes.Interface, target kube.Target) (*incoming.Manager, func()) {
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
		Mode: cfg.Incoming, Filters: cfg.HTTPFilters, Ports: cfg.IncomingPorts, PortMap: cfg.PortMap,
		ProbePaths: kube.ProbePaths(target.Pod, target.Container),
		Pods:       pods,
		Workload:   target.Selector != nil,
		Establish: func(pod string) session.Establish {
			g, _ := gates.LoadOrStore(pod, &startGate{})
			t := target
			t.Pod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: target.Namespace}}
			return func(ctx context.Context) (*session.Link, error) {
				return connect(ctx, cfg, restCfg, cs, t, true, g.(*startGate).mayStart)
			}
		},
		Progress: cfg.Progress,
		Logger:   cfg.Logger,
	})
	return in, func() { stop(); in.Close() }
}
