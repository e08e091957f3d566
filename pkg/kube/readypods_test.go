package kube

import (
	"context"

	authv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
)

func readyPod(name string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "api"}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

// The Ready set is there at once, and follows pods that come, stop being
// Ready and go: from one watch, or by listing for a role that may not watch.
func TestWatchReadyPodsFollowsTheWorkload(t *testing.T) {
	for _, mayWatch := range []bool{true, false} {
		t.Run(map[bool]string{true: "watch", false: "list"}[mayWatch], func(t *testing.T) { followsTheWorkload(t, mayWatch) })
	}
}

func followsTheWorkload(t *testing.T, mayWatch bool) {
	cs := fake.NewClientset(readyPod("api-1", true), readyPod("api-2", false))
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authv1.SelfSubjectAccessReview)
		review.Status.Allowed = mayWatch || review.Spec.ResourceAttributes.Verb != "watch"
		return true, review, nil
	})
	var watches atomic.Int32
	cs.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) {
		watches.Add(1)
		return false, nil, nil
	})
	defer func() {
		if mayWatch != (watches.Load() > 0) {
			t.Errorf("may watch: %v, watches made: %d", mayWatch, watches.Load())
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sel := labels.SelectorFromSet(labels.Set{"app": "api"})
	sets := WatchReadyPods(ctx, cs, Target{Namespace: "ns", Selector: sel})
	next := func(want ...string) {
		t.Helper()
		select {
		case got := <-sets:
			if !slices.Equal(got, want) {
				t.Fatalf("Ready set %v, want %v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no Ready set %v came", want)
		}
	}
	next("api-1")
	pods := cs.CoreV1().Pods("ns")
	if _, err := pods.Update(ctx, readyPod("api-2", true), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	next("api-1", "api-2")
	if _, err := pods.Create(ctx, readyPod("api-3", true), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	next("api-1", "api-2", "api-3")
	if err := pods.Delete(ctx, "api-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next("api-2", "api-3")
}
