package kube

import (
	corev1 "k8s.io/api/core/v1"
)

// grpcProbePath is the call a kubelet gRPC probe makes.
const grpcProbePath = "/grpc.health.v1.Health/Check"

// ProbePaths lists, by port, the HTTP paths the kubelet probes on the
// container (readiness, liveness, startup; named ports resolved; a gRPC
// probe is its health check's path). Incoming
// traffic leaves these requests to the pod's own app.
func ProbePaths(pod *corev1.Pod, container string) map[int][]string {
	out := map[int][]string{}
	for _, c := range pod.Spec.Containers {
		if c.Name != container {
			continue
		}
		for _, p := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
			if p != nil && p.GRPC != nil {
				out[int(p.GRPC.Port)] = append(out[int(p.GRPC.Port)], grpcProbePath)
			}
			if p == nil || p.HTTPGet == nil {
				continue
			}
			port := p.HTTPGet.Port.IntValue()
			if port == 0 {
				port = namedPort(c, p.HTTPGet.Port.String())
			}
			path := p.HTTPGet.Path
			if path == "" {
				path = "/"
			}
			if port != 0 {
				out[port] = append(out[port], path)
			}
		}
	}
	return out
}

func namedPort(c corev1.Container, name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return int(p.ContainerPort)
		}
	}
	return 0
}
