package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/imageids"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// A targetless run has no pod of its own to live in: its agent runs in a
// short-lived pod of a Job the plugin creates. The Job's TTL deletes Job and
// pod as soon as the agent exits at its idle timeout, so nothing is left
// behind even when the plugin is killed.
const (
	agentPodContainer = "agent"
	agentPodPort      = protocol.DefaultAgentPort
	agentPodUID       = 65532 // distroless "nonroot"; the agent image has no user of its own
	// Labels find a user's agent pods; the owner is a digest of the key.
	labelManagedBy = "app.kubernetes.io/managed-by"
	labelName      = "app.kubernetes.io/name"
	labelOwner     = "kubectl-mirror.io/owner"
	managedBy      = "kubectl-mirror"
	agentPodName   = "kubectl-mirror-agent"
)

// AgentPod is a targetless run's agent: its pod and where it listens.
type AgentPod struct {
	Namespace, Pod, Job string
	Port                int
	Reused              bool
	Identity            string // protocol.AgentIdentity of the pod's agent container
}

// EnsureAgentPod returns the caller's running agent pod in namespace, or
// starts one (a Job) and waits until it runs. avoid names a pod not to
// reuse (it did not answer).
func EnsureAgentPod(ctx context.Context, cs kubernetes.Interface, namespace string, o AgentOptions, avoid string) (AgentPod, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	sel := labels.Set{labelManagedBy: managedBy, labelName: agentPodName, labelOwner: ownerLabel(o.Key)}.String()
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return AgentPod{}, err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Name == avoid || p.DeletionTimestamp != nil || !agentPodFits(p, o) {
			continue
		}
		if id, trusted := imageIDOf(p, agentPodContainer), o.trustedImageID(); id != "" && trusted != "" && !imageids.Same(id, trusted) {
			if o.Debug != nil {
				o.Debug(fmt.Sprintf("not reusing pod/%s: it runs image %s, where your agents ran %s", p.Name, id, trusted))
			}
			continue
		}
		if containerRunning(p, agentPodContainer) {
			o.remember(imageIDOf(p, agentPodContainer), false)
			progress(fmt.Sprintf("reusing agent pod/%s", p.Name))
			return AgentPod{Namespace: namespace, Pod: p.Name, Job: p.Labels["job-name"], Port: agentPodPort, Reused: true,
				Identity: protocol.AgentIdentity(string(p.UID), agentPodContainer)}, nil
		}
	}
	job, err := cs.BatchV1().Jobs(namespace).Create(ctx, agentJob(namespace, o), metav1.CreateOptions{})
	if err != nil {
		if refused := agentPodRefused(namespace, err.Error()); refused != nil {
			return AgentPod{}, refused
		}
		return AgentPod{}, fmt.Errorf("start an agent pod in namespace %q: %w", namespace, err)
	}
	progress(fmt.Sprintf("starting agent job/%s (%s) in namespace %s", job.Name, o.Image, namespace))
	pod, err := waitAgentPod(ctx, cs, job, o.StartupTimeout)
	if err != nil {
		// A Job, unlike an ephemeral container, can go: leave no stuck pod.
		bg := metav1.DeletePropagationBackground
		_ = cs.BatchV1().Jobs(namespace).Delete(context.WithoutCancel(ctx), job.Name, metav1.DeleteOptions{PropagationPolicy: &bg})
		return AgentPod{}, err
	}
	o.remember(imageIDOf(pod, agentPodContainer), true)
	progress(fmt.Sprintf("agent pod/%s running", pod.Name))
	return AgentPod{Namespace: namespace, Pod: pod.Name, Job: job.Name, Port: agentPodPort,
		Identity: protocol.AgentIdentity(string(pod.UID), agentPodContainer)}, nil
}

// agentJob is the Job of a targetless agent: one pod that passes Pod
// Security "restricted" (non-root, no capabilities, no privilege
// escalation, RuntimeDefault seccomp, read-only root), without the
// namespace's service-account token, deleted with its Job when it ends.
func agentJob(namespace string, o AgentOptions) *batchv1.Job {
	f, t := false, true
	uid := int64(agentPodUID)
	zero, one := int32(0), int64(1)
	lbl := map[string]string{labelManagedBy: managedBy, labelName: agentPodName, labelOwner: ownerLabel(o.Key)}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{GenerateName: AgentNamePrefix, Namespace: namespace, Labels: lbl},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &zero,
			TTLSecondsAfterFinished: &zero,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{
					RestartPolicy:                 corev1.RestartPolicyNever,
					AutomountServiceAccountToken:  &f,
					EnableServiceLinks:            &f,
					TerminationGracePeriodSeconds: &one,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot: &t, RunAsUser: &uid, RunAsGroup: &uid,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            agentPodContainer,
						Image:           o.Image,
						ImagePullPolicy: o.PullPolicy,
						// The pod's UID is known only once the Job made it: the
						// kubelet writes it into the identity from the downward API.
						Env: []corev1.EnvVar{{Name: podUIDVar, ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.uid"}}}},
						Args: protocol.AgentArgs{Port: agentPodPort, IdleTimeout: o.IdleTimeout, Key: o.Key,
							Identity: protocol.AgentIdentity("$("+podUIDVar+")", agentPodContainer)}.Args(),
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: &f, ReadOnlyRootFilesystem: &t, RunAsNonRoot: &t,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
					}},
				},
			},
		},
	}
}

// podUIDVar carries the agent pod's UID into its identity argument.
const podUIDVar = "MIRROR_POD_UID"

// agentPodFits: the pod's agent container is exactly the one agentJob makes
// for o (image, arguments, environment, command, security context), with
// the idle timeout it was started with. A pod that only carries the labels
// and the user's key was made by someone else.
func agentPodFits(p *corev1.Pod, o AgentOptions) bool {
	for _, c := range p.Spec.Containers {
		if c.Name != agentPodContainer || len(p.Spec.Containers) != 1 || len(p.Spec.InitContainers) != 0 {
			continue
		}
		args, err := protocol.ParseAgentArgs(c.Args)
		if err != nil {
			return false
		}
		want := o
		want.IdleTimeout = args.IdleTimeout
		mine := agentJob(p.Namespace, want).Spec.Template.Spec
		m := mine.Containers[0]
		m.ImagePullPolicy, m.TerminationMessagePath = c.ImagePullPolicy, c.TerminationMessagePath
		return equality.Semantic.DeepEqual(m, c) &&
			equality.Semantic.DeepEqual(mine.SecurityContext, p.Spec.SecurityContext) &&
			len(p.Spec.Volumes) == 0 && !p.Spec.HostNetwork && !p.Spec.HostPID
	}
	return false
}

func containerRunning(p *corev1.Pod, name string) bool {
	for _, st := range p.Status.ContainerStatuses {
		if st.Name == name && st.State.Running != nil {
			return p.Status.Phase == corev1.PodRunning
		}
	}
	return false
}

// waitAgentPod waits for the Job's pod to run. A pod the namespace refuses
// (Pod Security, quota) or an image that cannot be pulled ends the wait at
// once with the reason.
func waitAgentPod(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job, timeout time.Duration) (*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no pod yet"
	for {
		pods, err := cs.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job.Name})
		if err == nil {
			for i := range pods.Items {
				p := &pods.Items[i]
				if containerRunning(p, agentPodContainer) {
					return p, nil
				}
				if reason, fatal := podStuck(p); fatal {
					return nil, fmt.Errorf("%w: pod/%s: %s%s", ErrAgentStart, p.Name, reason, pullAdvice(strings.SplitN(reason, ":", 2)[0], false))
				} else if reason != "" {
					last = reason
				}
			}
			if len(pods.Items) == 0 {
				if msg := refusedCreate(ctx, cs, job); msg != "" {
					if refused := agentPodRefused(job.Namespace, msg); refused != nil {
						return nil, refused
					}
					return nil, fmt.Errorf("%w: namespace %s refuses the agent's pod: %s", ErrAgentStart, job.Namespace, msg)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: job/%s has no running pod after %v (last: %s); see kubectl describe job/%s -n %s",
				ErrAgentStart, job.Name, timeout, last, job.Name, job.Namespace)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// podStuck says why the agent container is not running, and whether it
// never will.
func podStuck(p *corev1.Pod) (string, bool) {
	for _, st := range p.Status.ContainerStatuses {
		switch {
		case st.Name != agentPodContainer:
		case st.State.Terminated != nil:
			t := st.State.Terminated
			return fmt.Sprintf("container exited (%s, code %d): %s", t.Reason, t.ExitCode, strings.TrimSpace(t.Message)), true
		case st.State.Waiting != nil:
			return st.State.Waiting.Reason + ": " + st.State.Waiting.Message, fatalWaiting(st.State.Waiting.Reason)
		}
	}
	return string(p.Status.Phase), p.Status.Phase == corev1.PodFailed
}

// refusedCreate returns the message of the Job controller's FailedCreate
// event, "" when there is none (yet).
func refusedCreate(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job) string {
	evs, err := cs.CoreV1().Events(job.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Job,involvedObject.name=" + job.Name + ",reason=FailedCreate"})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	return evs.Items[len(evs.Items)-1].Message
}

// ownerLabel is a label-safe digest of the user's key.
func ownerLabel(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}
