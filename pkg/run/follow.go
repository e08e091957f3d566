package run

import (
	"context"
	"errors"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// ErrPodGone: the named pod of a pod/NAME target is gone.
var ErrPodGone = errors.New("the target pod is gone")

// follower keeps the session's own link (outgoing, DNS, files) on a live
// pod: when its pod goes away (a rollout, an eviction) a workload's session
// moves to another Ready pod of the workload; a pod/NAME session says once
// that the pod is gone and keeps trying, in case it comes back.
type follower struct {
	cfg  Config
	dial agentDialer
	cs   kubernetes.Interface

	mu     sync.Mutex
	target kube.Target
	gates  map[string]*startGate // per pod: its first agent starts at once
	said   bool                  // "gone" was said for the current pod
}

func newFollower(dial agentDialer, t kube.Target) *follower {
	return &follower{cfg: dial.cfg, dial: dial, cs: dial.cs, target: t, gates: map[string]*startGate{}}
}

func (f *follower) current() (kube.Target, *startGate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.gates[f.target.Pod.Name]
	if g == nil {
		g = &startGate{}
		f.gates[f.target.Pod.Name] = g
	}
	return f.target, g
}

// establish is the session's Establish: connect on the current pod, or, if
// it is gone, move on.
func (f *follower) establish(ctx context.Context) (*session.Link, error) {
	t, gate := f.current()
	l, err := f.dial.connect(ctx, t, false, gate.mayStart)
	if err == nil {
		return l, nil
	}
	if !podGone(ctx, f.cs, t) {
		return nil, err
	}
	if t.Selector == nil {
		f.sayOnce(fmt.Sprintf("pod/%s is gone: new connections through the pod fail until it is back", t.Pod.Name))
		return nil, fmt.Errorf("pod/%s: %w (%w)", t.Pod.Name, ErrPodGone, session.ErrUnavailable)
	}
	next, perr := kube.PickReadyPod(ctx, f.cs, t.Namespace, t.Selector, t.Ref)
	if perr != nil {
		f.sayOnce(fmt.Sprintf("pod/%s is gone and %v; waiting for one", t.Pod.Name, perr))
		return nil, perr
	}
	f.mu.Lock()
	f.target.Pod, f.said = next, false
	f.mu.Unlock()
	progress(f.cfg, fmt.Sprintf("pod/%s is gone; the session moves to pod/%s", t.Pod.Name, next.Name))
	t, gate = f.current()
	return f.dial.connect(ctx, t, false, gate.mayStart)
}

func (f *follower) sayOnce(line string) {
	f.mu.Lock()
	said := f.said
	f.said = true
	f.mu.Unlock()
	if !said {
		progress(f.cfg, line)
	}
}

// podGone: the pod no longer exists, is being deleted, or is not Ready.
func podGone(ctx context.Context, cs kubernetes.Interface, t kube.Target) bool {
	p, err := cs.CoreV1().Pods(t.Namespace).Get(ctx, t.Pod.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return true
	}
	return err == nil && (p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !kube.IsReady(p))
}
