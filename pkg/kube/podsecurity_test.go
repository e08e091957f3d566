package kube

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func TestEnforcedPodSecurity(t *testing.T) {
	cs := fake.NewSimpleClientset(
		namespace("open", nil),
		namespace("base", map[string]string{PodSecurityEnforceLabel: "baseline"}),
		namespace("pinned", map[string]string{PodSecurityEnforceLabel: "restricted", podSecurityVersionLabel: "v1.30"}),
		namespace("priv", map[string]string{PodSecurityEnforceLabel: "privileged"}),
	)
	for ns, want := range map[string]struct {
		level         string
		known, forbid bool
	}{
		"open":    {"", true, false},
		"base":    {"baseline:latest", true, true},
		"pinned":  {"restricted:v1.30", true, true},
		"priv":    {"privileged:latest", true, false},
		"missing": {"", false, false},
	} {
		level, known := EnforcedPodSecurity(context.Background(), cs, ns)
		if level != want.level || known != want.known || ForbidsNetAdmin(level) != want.forbid {
			t.Errorf("%s: got %q %v (forbids NET_ADMIN: %v), want %+v", ns, level, known, ForbidsNetAdmin(level), want)
		}
	}
	// A user who may not get namespaces: unknown, admission decides.
	cs.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("namespaces"), "base", nil)
	})
	if level, known := EnforcedPodSecurity(context.Background(), cs, "base"); known || level != "" {
		t.Errorf("forbidden: got %q %v, want unknown", level, known)
	}
}
