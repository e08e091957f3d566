package kube

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func pod(name string, ready bool, age time.Duration, annotations map[string]string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "api"},
		Annotations: annotations, CreationTimestamp: metav1.NewTime(time.Unix(1_000_000, 0).Add(-age))}}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	p.Status.Phase = corev1.PodRunning
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}}
	return p
}

func TestPickReadyPod(t *testing.T) {
	deploy := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}}}
	_, sel, err := PodSelector(deploy)
	if err != nil {
		t.Fatal(err)
	}
	// Somebody's --copy-target copy keeps the labels, and is older still.
	copied := pod("api-mirror-copy", true, 3*time.Hour, nil, "app")
	copied.Labels[LabelCopyOf] = "deployment.api"
	cs := fake.NewSimpleClientset(
		pod("api-young", true, time.Minute, nil, "app"),
		pod("api-old", true, time.Hour, nil, "app"),
		pod("api-unready", false, 2*time.Hour, nil, "app"),
		copied,
	)
	got, err := PickReadyPod(context.Background(), cs, "default", sel, "deployment/api")
	if err != nil || got.Name != "api-old" {
		t.Fatalf("got %v %v, want the oldest Ready pod of the deployment's own, api-old", got, err)
	}
	cs = fake.NewSimpleClientset(pod("api-unready", false, time.Hour, nil, "app"))
	_, err = PickReadyPod(context.Background(), cs, "default", sel, "deployment/api")
	if !errors.Is(err, ErrNoReadyPod) || !strings.Contains(err.Error(), "api-unready Running, not Ready") {
		t.Fatalf("got %v", err)
	}
}

func TestPodSelector(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "api"}}}
	if _, sel, err := PodSelector(svc); err != nil || sel.String() != "app=api,!"+LabelCopyOf {
		t.Fatalf("service: %v %v", sel, err)
	}
	headless := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "ext"}}
	if _, _, err := PodSelector(headless); err == nil || !strings.Contains(err.Error(), "no selector") {
		t.Fatalf("selectorless service: %v", err)
	}
	var cm runtime.Object = &corev1.ConfigMap{}
	if _, _, err := PodSelector(cm); err == nil || !strings.Contains(err.Error(), "use pod, deploy") {
		t.Fatalf("configmap: %v", err)
	}
}

func TestPickContainer(t *testing.T) {
	annotated := pod("p", true, 0, map[string]string{DefaultContainerAnnotation: "app"}, "istio-proxy", "app")
	plain := pod("p", true, 0, nil, "first", "second")
	stale := pod("p", true, 0, map[string]string{DefaultContainerAnnotation: "gone"}, "first")
	// A native sidecar (Kubernetes 1.29+) is an init container that keeps
	// running; the default, and the annotation naming it, give the app.
	native := pod("p", true, 0, nil, "app")
	always := corev1.ContainerRestartPolicyAlways
	native.Spec.InitContainers = []corev1.Container{{Name: "migrate"}, {Name: "proxy", RestartPolicy: &always}}
	nativeAnnotated := native.DeepCopy()
	nativeAnnotated.Annotations = map[string]string{DefaultContainerAnnotation: "proxy"}
	cases := []struct {
		pod             *corev1.Pod
		requested, want string
		wantErr         string
	}{
		{annotated, "", "app", ""},
		{annotated, "istio-proxy", "istio-proxy", ""},
		{plain, "", "first", ""},
		{stale, "", "first", ""},
		{plain, "nope", "", `no container "nope"; its containers: first, second`},
		{native, "", "app", ""},
		{nativeAnnotated, "", "app", ""},
		{native, "proxy", "", `container "proxy" of pod/p is a native sidecar (an init container with restartPolicy: Always), not an app container: name one of app with -c`},
		{native, "migrate", "", `container "migrate" of pod/p is an init container`},
	}
	for _, tc := range cases {
		got, err := PickContainer(tc.pod, tc.requested)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: got %v, want error %q", tc.requested, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q %v, want %q", tc.requested, got, err, tc.want)
		}
	}
}
