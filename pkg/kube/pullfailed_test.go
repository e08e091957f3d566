package kube

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An agent of ours that cannot pull its image stops the next run of the
// same image from adding another (it would fail alike and stay forever);
// another image is tried.
func TestPullFailureAddsNoSecondAgent(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app-1", UID: "uid-1"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	stuck := AgentContainer(pod, Agent{Name: "mirror-agent-stuck", Target: "app", Image: "typo.invalid/agent:v1", Port: 47001, Key: "ed25519:alice", IdleTimeout: time.Minute})
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{stuck}
	pod.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: stuck.Name, State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image"}}}}
	err := pullFailed(pod, Agent{Target: "app", Image: "typo.invalid/agent:v1", Key: "ed25519:alice"})
	if err == nil || !strings.Contains(err.Error(), "mirror-agent-stuck") || !strings.Contains(err.Error(), "--agent-image") {
		t.Fatalf("the same image again: %v", err)
	}
	if err := pullFailed(pod, Agent{Target: "app", Image: "registry.test/agent:v1", Key: "ed25519:alice"}); err != nil {
		t.Fatalf("another image: %v", err)
	}
	if err := pullFailed(pod, Agent{Target: "app", Image: "typo.invalid/agent:v1", Key: "ed25519:bob"}); err != nil {
		t.Fatalf("another user: %v", err)
	}
}
