package kube

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestProbePaths(t *testing.T) {
	http := func(path string, port intstr.IntOrString) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port}}}
	}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
		{Name: "side", ReadinessProbe: http("/side", intstr.FromInt(9999))},
		{Name: "app",
			Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: http("/ready", intstr.FromInt(8080)),
			LivenessProbe:  http("", intstr.FromString("http")),
			StartupProbe:   &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt(9000)}}},
		},
		{Name: "grpc", LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}}}},
	}}}
	want := map[int][]string{8080: {"/ready", "/"}}
	if diff := cmp.Diff(want, ProbePaths(pod, "app")); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int][]string{9090: {"/grpc.health.v1.Health/Check"}}, ProbePaths(pod, "grpc")); diff != "" {
		t.Fatalf("gRPC probe (-want +got):\n%s", diff)
	}
}
