package kube

import (
	"context"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// readyPodsResync re-reads the watched pods from the informer's cache (not the
// API server) this often, so a missed change is caught without a new listing.
const readyPodsResync = 5 * time.Minute

// WatchReadyPods sends the names of t's Ready pods (sorted) each time the
// set changes, until ctx ends: every pod of a workload target, or the one
// pod of a pod/NAME target while it is Ready. One list and one watch per
// session (client-go's informer relists only when the watch is lost), so a
// team's steady sessions cost the API server almost nothing. While the API
// server cannot be reached the last set is kept.
func WatchReadyPods(ctx context.Context, cs kubernetes.Interface, t Target) <-chan []string {
	out := make(chan []string, 1)
	if !mayWatchPods(ctx, cs, t.Namespace) {
		return pollReadyPods(ctx, cs, t)
	}
	narrow := narrowToTarget(t)
	pods := cs.CoreV1().Pods(t.Namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			narrow(&o)
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			narrow(&o)
			return pods.Watch(ctx, o)
		},
	}
	// A fake clientset in tests cannot stream a list through a watch; the real one can.
	informer := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, cs), &corev1.Pod{}, readyPodsResync, cache.Indexers{})
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, DeleteFunc: poke, UpdateFunc: func(_, n any) { poke(n) },
	})
	go informer.RunWithContext(ctx)
	// The first set is there when this returns, so the program's first
	// listen already finds the pods.
	var last []string
	sent := false
	if cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		last, sent = readyIn(informer.GetStore()), true
		out <- last
	}
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			if !informer.HasSynced() {
				continue
			}
			names := readyIn(informer.GetStore())
			if sent && slices.Equal(names, last) {
				continue
			}
			sent, last = true, names
			select {
			case out <- names:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// narrowToTarget limits a listing or a watch to the target's pods.
func narrowToTarget(t Target) func(*metav1.ListOptions) {
	return func(o *metav1.ListOptions) {
		if t.Selector != nil {
			o.LabelSelector = t.Selector.String()
		} else {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", t.Pod.Name).String()
		}
	}
}

// mayWatchPods: the user's role lets it watch pods in namespace; a role with
// get and list only is served by listing instead of a watch that would fail.
func mayWatchPods(ctx context.Context, cs kubernetes.Interface, namespace string) bool {
	ok, err := Permission{permission{"", "watch", "pods", ""}}.Allowed(ctx, cs, namespace)
	return err != nil || ok // the review itself refused: try the watch, as before reviews existed
}

// readyIn lists the Ready pods of the store, sorted.
func readyIn(store cache.Store) []string {
	var names []string
	for _, o := range store.List() {
		if p, ok := o.(*corev1.Pod); ok && IsReady(p) {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return names
}
