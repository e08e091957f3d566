package kube

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// readyPodsEvery is how often a workload's Ready pods are listed: a new
// replica takes part, and a gone one leaves, within about this.
const readyPodsEvery = 2 * time.Second

// WatchReadyPods sends the names of t's Ready pods (sorted) each time the
// set changes, until ctx ends: every pod of a workload target, or the one
// pod of a pod/NAME target while it is Ready. A failed listing keeps the
// last set.
func WatchReadyPods(ctx context.Context, cs kubernetes.Interface, t Target) <-chan []string {
	out := make(chan []string, 1)
	// The first set is there when this returns, so the program's first
	// listen already finds the pods.
	last, err := readyPods(ctx, cs, t)
	first := err != nil
	if err == nil {
		out <- last
	}
	go func() {
		defer close(out)
		tick := time.NewTicker(readyPodsEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			names, err := readyPods(ctx, cs, t)
			if err == nil && (first || !slices.Equal(names, last)) {
				first, last = false, names
				select {
				case out <- names:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

func readyPods(ctx context.Context, cs kubernetes.Interface, t Target) ([]string, error) {
	opts := metav1.ListOptions{}
	if t.Selector != nil {
		opts.LabelSelector = t.Selector.String()
	} else {
		opts.FieldSelector = "metadata.name=" + t.Pod.Name
	}
	list, err := cs.CoreV1().Pods(t.Namespace).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range list.Items {
		if IsReady(&list.Items[i]) {
			names = append(names, list.Items[i].Name)
		}
	}
	slices.Sort(names)
	return names, nil
}
