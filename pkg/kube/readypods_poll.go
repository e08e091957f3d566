package kube

import (
	"context"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// readyPodsEvery is how often the Ready pods are listed when the user may not
// watch pods (a role granting get and list only): the set then follows the
// workload within about this.
const readyPodsEvery = 2 * time.Second

// pollReadyPods is WatchReadyPods by listing, for users who may not watch.
func pollReadyPods(ctx context.Context, cs kubernetes.Interface, t Target) <-chan []string {
	out := make(chan []string, 1)
	last, err := listReadyPods(ctx, cs, t)
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
			names, err := listReadyPods(ctx, cs, t)
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

func listReadyPods(ctx context.Context, cs kubernetes.Interface, t Target) ([]string, error) {
	opts := metav1.ListOptions{}
	narrowToTarget(t)(&opts)
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
