package kube

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A workload with a native sidecar lists its app containers first and
// the sidecar after them, marked; a plain init container is not listed.
func TestListTargetsMarksNativeSidecars(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate"},
			{Name: "proxy", RestartPolicy: &always, Ports: []corev1.ContainerPort{{ContainerPort: 15001}}}},
		Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}},
	}
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{"app": "api"}}
	cs := fake.NewSimpleClientset(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{Selector: sel, Template: corev1.PodTemplateSpec{Spec: spec}}})
	list, _, err := ListTargets(context.Background(), cs, "shop", "")
	if err != nil || len(list) != 1 {
		t.Fatalf("got %v %v", list, err)
	}
	want := []ListedPort{{Container: "app", Ports: []string{"8080/TCP"}}, {Container: "proxy", Ports: []string{"15001/TCP"}, Sidecar: true}}
	if diff := cmp.Diff(want, list[0].Containers); diff != "" {
		t.Fatalf("containers (-want +got):\n%s", diff)
	}
}
