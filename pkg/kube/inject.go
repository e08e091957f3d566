package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// AgentOptions configures agent injection.
type AgentOptions struct {
	Image          string
	PullPolicy     corev1.PullPolicy
	IdleTimeout    time.Duration
	StartupTimeout time.Duration
	NetAdmin       bool   // for incoming traffic
	Key            string // the user's public key (protocol.EncodeKey)
	Avoid          string // an agent not to reuse (it did not answer)
	// MayStart, when set, is asked before a new agent is injected, and told
	// whether the agent it replaces is known to have exited; false
	// makes EnsureAgent fail with ErrNoAgentNow instead.
	MayStart func(replacingDead bool) bool
	Progress func(string) // one line per step; nil: quiet
	// Debug takes lines for -v: why an agent was not reused. nil: quiet.
	Debug func(string)
	// ImageIDs remembers the image the kubelet ran for Image when this
	// user's agent started; a reused agent must run the same. nil: no check.
	ImageIDs ImageIDs
}

// ImageIDs is where the image IDs of the user's agents are remembered
// (imageids.Store).
type ImageIDs interface {
	Get(ref string) string
	Put(ref, id string, replace bool) error
}

// ErrAgentStart is returned when the agent container does not come up.
var ErrAgentStart = errors.New("agent did not start")

// ErrNoAgentNow: no live agent to reuse, and starting one is not allowed now.
var ErrNoAgentNow = errors.New("no live agent, and no new one may start yet")

// injectTries bounds the rounds of "someone else changed the pod first".
const injectTries = 20

// EnsureAgent reuses the user's live agent for the target container, or
// injects a new ephemeral container and waits until it runs. Ephemeral
// containers can never be removed from a pod, so reuse also keeps the pod
// spec from filling up: runs that race to add the first agent add one, and
// the others wait for it.
func EnsureAgent(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, target string, o AgentOptions) (Agent, error) {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	want := Agent{Target: target, Image: o.Image, Key: o.Key, NetAdmin: o.NetAdmin}
	for try := 0; try < injectTries; try++ {
		cur, err := cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return Agent{}, err
		}
		// The agent that did not answer, if any, counts as dead once the
		// kubelet says it exited; one that runs on may be a flaky link.
		replacingDead := o.Avoid == "" || stateOf(cur, o.Avoid) == agentGone
		if o.Avoid != "" {
			cur = withoutAgent(cur, o.Avoid)
		}
		skipped := func(name, why string) {
			if o.Debug != nil {
				o.Debug(fmt.Sprintf("not reusing %s, which carries your key: %s", name, why))
			}
		}
		if a, ok := findAgent(cur, want, o.trustedImageID(), skipped); ok {
			if a.state == agentRunning {
				progress(fmt.Sprintf("reusing agent %s", a.Name))
				a.Reused = true
				o.remember(imageIDOf(cur, a.Name), false)
				return a, nil
			}
			progress(fmt.Sprintf("waiting for agent %s, which another run is starting", a.Name))
			if err := waitRunning(ctx, cs, cur.Namespace, cur.Name, a.Name, o.StartupTimeout); err != nil {
				return Agent{}, err
			}
			return a, nil
		}
		if err := pullFailed(cur, want); err != nil {
			return Agent{}, err
		}
		if o.MayStart != nil && !o.MayStart(replacingDead) {
			return Agent{}, ErrNoAgentNow
		}
		a, err := inject(ctx, cs, cur, want, o, progress)
		if apierrors.IsConflict(err) {
			continue // the pod changed since we read it (perhaps a new agent of ours): look again
		}
		return a, err
	}
	return Agent{}, fmt.Errorf("inject the agent into pod/%s: the pod kept changing under us (%d tries)", pod.Name, injectTries)
}

// inject adds a new agent to pod as it was read: the patch carries its
// resourceVersion, so it fails with a conflict if the pod changed since.
func inject(ctx context.Context, cs kubernetes.Interface, pod *corev1.Pod, w Agent, o AgentOptions, progress func(string)) (Agent, error) {
	spec := Agent{
		Name:        agentName(randomHex(3)),
		Image:       o.Image,
		PullPolicy:  o.PullPolicy,
		Target:      w.Target,
		Port:        AgentPort(pod, mrand.IntN),
		Key:         w.Key,
		IdleTimeout: o.IdleTimeout,
		NetAdmin:    w.NetAdmin,
	}
	spec.Identity = protocol.AgentIdentity(string(pod.UID), spec.Name)
	patch, err := agentPatch(pod, AgentContainer(pod, spec))
	if err != nil {
		return Agent{}, err
	}
	// A strategic merge patch of the ephemeralcontainers subresource, as
	// kubectl debug makes: RBAC verb "patch", which preflight checks.
	_, err = cs.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "ephemeralcontainers")
	if err != nil {
		if apierrors.IsConflict(err) {
			return Agent{}, err
		}
		if apierrors.IsNotFound(err) && strings.Contains(err.Error(), "ephemeralcontainers") {
			return Agent{}, errors.New("this cluster does not support ephemeral containers (Kubernetes 1.25+ needed)")
		}
		// An admission refusal is final: said in one line, never retried.
		if refused := agentRefused(pod.Namespace, pod.Name, w.NetAdmin, err); refused != nil {
			return Agent{}, refused
		}
		return Agent{}, fmt.Errorf("inject the agent into pod/%s: %w", pod.Name, err)
	}
	// Said once the pod holds it: a refused agent was never started.
	progress(fmt.Sprintf("starting agent %s (%s) in pod/%s", spec.Name, spec.Image, pod.Name))
	if err := waitRunning(ctx, cs, pod.Namespace, pod.Name, spec.Name, o.StartupTimeout); err != nil {
		return Agent{}, err
	}
	if p, err := cs.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{}); err == nil {
		o.remember(imageIDOf(p, spec.Name), true)
	}
	progress(fmt.Sprintf("agent %s running", spec.Name))
	return spec, nil
}

// agentPatch adds ec to the pod's ephemeral containers (merged by name) on
// the condition that the pod is still at the resourceVersion we read.
func agentPatch(pod *corev1.Pod, ec corev1.EphemeralContainer) ([]byte, error) {
	return json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": pod.ResourceVersion},
		"spec":     map[string]any{"ephemeralContainers": []corev1.EphemeralContainer{ec}},
	})
}

// withoutAgent hides an agent from reuse.
func withoutAgent(p *corev1.Pod, name string) *corev1.Pod {
	c := p.DeepCopy()
	for i := range c.Status.EphemeralContainerStatuses {
		if c.Status.EphemeralContainerStatuses[i].Name == name {
			c.Status.EphemeralContainerStatuses[i].State = corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{Reason: "DidNotAnswer"},
			}
		}
	}
	return c
}

// waitRunning polls until the container runs, and fails fast with the
// container's own reason when it cannot (image pull, crash, bad config).
func waitRunning(ctx context.Context, cs kubernetes.Interface, ns, pod, name string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "not scheduled yet"
	for {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err == nil {
			for _, st := range p.Status.EphemeralContainerStatuses {
				if st.Name != name {
					continue
				}
				switch {
				case st.State.Running != nil:
					return nil
				case st.State.Terminated != nil:
					t := st.State.Terminated
					return fmt.Errorf("%w: container %s exited (%s, code %d): %s", ErrAgentStart, name, t.Reason, t.ExitCode, strings.TrimSpace(t.Message))
				case st.State.Waiting != nil:
					w := st.State.Waiting
					last = w.Reason
					if fatalWaiting(w.Reason) {
						return fmt.Errorf("%w: %s: %s%s", ErrAgentStart, w.Reason, w.Message, pullAdvice(w.Reason, true))
					}
				}
			}
		}
		if msg := pullFailedEvent(ctx, cs, ns, pod, name); msg != "" {
			return fmt.Errorf("%w: ErrImagePull: %s%s", ErrAgentStart, msg, pullAdvice("ErrImagePull", true))
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w within %s (last state: %s): raise --agent-startup-timeout or check the node", ErrAgentStart, timeout, last)
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// pullFailed reports an agent of ours for the same image that the kubelet
// cannot pull: another would fail the same way, and an ephemeral container
// can never be removed, so none is added. The kubelet keeps retrying it.
func pullFailed(pod *corev1.Pod, w Agent) error {
	for _, ec := range pod.Spec.EphemeralContainers {
		a, ok := parseAgent(ec)
		if !ok || a.Target != w.Target || a.Key != w.Key || a.Image != w.Image {
			continue
		}
		for _, st := range pod.Status.EphemeralContainerStatuses {
			if st.Name != a.Name || st.State.Waiting == nil || pullAdvice(st.State.Waiting.Reason, true) == "" {
				continue
			}
			wt := st.State.Waiting
			return fmt.Errorf("%w: agent %s in pod/%s cannot pull %s (%s: %s); no other is added, since an ephemeral container is never removed%s",
				ErrAgentStart, a.Name, pod.Name, a.Image, wt.Reason, wt.Message, pullAdvice(wt.Reason, true))
		}
	}
	return nil
}

// pullFailedEvent is the kubelet's "Failed to pull image" event for the
// pod's ephemeral container name ("" when there is none yet). The event
// comes seconds before the container's status says ErrImagePull.
func pullFailedEvent(ctx context.Context, cs kubernetes.Interface, ns, pod, name string) string {
	evs, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=Pod,involvedObject.name=" + pod +
		",involvedObject.fieldPath=spec.ephemeralContainers{" + name + "},reason=Failed"})
	if err != nil {
		return ""
	}
	for _, e := range evs.Items {
		if strings.HasPrefix(e.Message, "Failed to pull image") {
			return e.Message
		}
	}
	return ""
}

func fatalWaiting(reason string) bool {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
		"CreateContainerError", "CreateContainerConfigError", "CrashLoopBackOff", "RunContainerError":
		return true
	}
	return false
}

// pullAdvice says what to do when the agent image cannot be pulled. An
// ephemeral container is pulled with its pod's own imagePullSecrets.
func pullAdvice(reason string, ephemeral bool) string {
	switch reason {
	case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
	default:
		return ""
	}
	if ephemeral {
		return "; the agent is an ephemeral container, pulled with the pod's own imagePullSecrets: copy the image to a registry those reach, or name another with --agent-image"
	}
	return "; the agent pod is pulled with the namespace's default service account's imagePullSecrets: copy the image to a registry those reach, or name another with --agent-image"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on Linux
	return hex.EncodeToString(b)
}

// WaitExited waits up to d for the kubelet to report the pod's ephemeral
// container name as no longer running, and says whether it did: an agent
// that stopped answering because it died is then replaced at once.
func WaitExited(ctx context.Context, cs kubernetes.Interface, ns, pod, name string, d time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
		if err == nil && stateOf(p, name) == agentGone {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// trustedImageID is the image ID remembered for the agent image ("": none).
func (o AgentOptions) trustedImageID() string {
	if o.ImageIDs == nil {
		return ""
	}
	return o.ImageIDs.Get(o.Image)
}

// remember keeps the image ID the kubelet ran for the agent image: always
// for an agent this run started (fresh), else when none is known.
func (o AgentOptions) remember(id string, fresh bool) {
	if o.ImageIDs != nil && id != "" {
		if err := o.ImageIDs.Put(o.Image, id, fresh); err != nil && o.Debug != nil {
			o.Debug(fmt.Sprintf("cannot remember the agent's image: %v", err))
		}
	}
}

// imageIDOf is the image the kubelet runs for the pod's container name.
func imageIDOf(pod *corev1.Pod, name string) string {
	for _, sts := range [][]corev1.ContainerStatus{pod.Status.EphemeralContainerStatuses, pod.Status.ContainerStatuses} {
		for _, st := range sts {
			if st.Name == name {
				return st.ImageID
			}
		}
	}
	return ""
}
