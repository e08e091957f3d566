package kube

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Listed is one thing `kubectl mirror run` can target: a workload with its
// pods, or a pod no controller owns.
type Listed struct {
	Namespace  string          `json:"namespace"`
	Target     string          `json:"target"` // as run takes it: deployment/echo
	Kind       string          `json:"kind"`
	Name       string          `json:"name"`
	Containers []ListedPort    `json:"containers"`
	Pods       []ListedPod     `json:"pods"`
	selector   labels.Selector // nil: the one pod Name
}

// ListedPort is a container and the ports it declares.
type ListedPort struct {
	Container string   `json:"container"`
	Ports     []string `json:"ports"` // 8080/TCP
	// Sidecar: a native sidecar (an init container with restartPolicy:
	// Always), listed after the app containers; -c does not take it.
	Sidecar bool `json:"sidecar,omitempty"`
}

// ListedPod is one pod of a target and the agents living in it.
type ListedPod struct {
	Name   string        `json:"name"`
	Ready  bool          `json:"ready"`
	Agents []ListedAgent `json:"agents"`
}

// ListedAgent is an agent container in a pod.
type ListedAgent struct {
	Name      string `json:"name"`
	Container string `json:"container"` // the container it targets
	// Tier: "outgoing" (outgoing traffic, DNS, files: the target's own
	// rights) or "incoming" (also redirects: NET_ADMIN, root).
	Tier string `json:"tier"`
	// Owner: the fingerprint of the key it answers to; Yours when that key is
	// the caller's.
	Owner   string    `json:"owner"`
	Yours   bool      `json:"yours"`
	State   string    `json:"state"` // starting, running, exited
	Started time.Time `json:"started,omitzero"`
}

// ListTargets lists the workloads (deployments, statefulsets, daemonsets,
// jobs) and the pods no controller owns in namespace ("" for all), with
// their pods and agents. yourKey marks the caller's agents. Kinds the caller
// may not list are left out and named in skipped; pods are needed.
func ListTargets(ctx context.Context, cs kubernetes.Interface, namespace, yourKey string) (out []Listed, skipped []string, err error) {
	// keep takes one kind's list: a Forbidden one is skipped, not fatal.
	keep := func(kind string, err error) (bool, error) {
		if apierrors.IsForbidden(err) {
			skipped = append(skipped, kind)
			return false, nil
		}
		return err == nil, err
	}
	deps, err := cs.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if ok, err := keep("deployments", err); err != nil {
		return nil, nil, err
	} else if ok {
		for _, d := range deps.Items {
			out = append(out, workload(d.Namespace, "deployment", d.Name, d.Spec.Selector, d.Spec.Template.Spec))
		}
	}
	sts, err := cs.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if ok, err := keep("statefulsets", err); err != nil {
		return nil, nil, err
	} else if ok {
		for _, s := range sts.Items {
			out = append(out, workload(s.Namespace, "statefulset", s.Name, s.Spec.Selector, s.Spec.Template.Spec))
		}
	}
	dss, err := cs.AppsV1().DaemonSets(namespace).List(ctx, metav1.ListOptions{})
	if ok, err := keep("daemonsets", err); err != nil {
		return nil, nil, err
	} else if ok {
		for _, d := range dss.Items {
			out = append(out, workload(d.Namespace, "daemonset", d.Name, d.Spec.Selector, d.Spec.Template.Spec))
		}
	}
	jobs, err := cs.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{})
	if ok, err := keep("jobs", err); err != nil {
		return nil, nil, err
	} else if ok {
		for _, j := range jobs.Items {
			if j.Labels[labelManagedBy] == managedBy {
				continue // a targetless run's agent: listed with the agents
			}
			out = append(out, workload(j.Namespace, "job", j.Name, j.Spec.Selector, j.Spec.Template.Spec))
		}
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, err
	}
	for i := range out {
		for j := range pods.Items {
			p := &pods.Items[j]
			if p.Namespace == out[i].Namespace && out[i].selector.Matches(labels.Set(p.Labels)) {
				out[i].Pods = append(out[i].Pods, listedPod(p, yourKey))
			}
		}
	}
	for j := range pods.Items {
		p := &pods.Items[j]
		if p.Labels[labelManagedBy] == managedBy && p.Labels[labelName] == agentPodName {
			out = append(out, agentPodListed(p, yourKey))
			continue
		}
		if metav1.GetControllerOf(p) == nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			l := Listed{Namespace: p.Namespace, Target: "pod/" + p.Name, Kind: "pod", Name: p.Name, Containers: ports(p.Spec),
				Pods: []ListedPod{listedPod(p, yourKey)}}
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b Listed) int {
		if a.Namespace != b.Namespace {
			return cmp.Compare(a.Namespace, b.Namespace)
		}
		return cmp.Compare(a.Target, b.Target)
	})
	return out, skipped, nil
}

// agentPodListed is a targetless run's agent pod: listed as a target-less
// entry whose one pod holds the agent.
func agentPodListed(p *corev1.Pod, yourKey string) Listed {
	key := ""
	for _, c := range p.Spec.Containers {
		if args, err := protocol.ParseAgentArgs(c.Args); err == nil {
			key = args.Key
		}
	}
	a := ListedAgent{Name: p.Name, Container: agentPodContainer, Tier: "targetless", Owner: KeyFingerprint(key), Yours: yourKey != "" && key == yourKey, State: "exited"}
	switch {
	case containerRunning(p, agentPodContainer):
		a.State = "running"
		for _, st := range p.Status.ContainerStatuses {
			if st.State.Running != nil {
				a.Started = st.State.Running.StartedAt.Time
			}
		}
	case p.Status.Phase == corev1.PodPending:
		a.State = "starting"
	}
	return Listed{Namespace: p.Namespace, Target: "(none)", Kind: "agent-pod", Name: p.Name, Containers: ports(p.Spec),
		Pods: []ListedPod{{Name: p.Name, Ready: IsReady(p), Agents: []ListedAgent{a}}}}
}

func workload(ns, kind, name string, sel *metav1.LabelSelector, spec corev1.PodSpec) Listed {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil || sel == nil {
		s = labels.Nothing()
	} else {
		s = withoutCopies(s) // a copy is listed with the copies, not as its source's pod
	}
	return Listed{Namespace: ns, Target: kind + "/" + name, Kind: kind, Name: name, Containers: ports(spec), selector: s}
}

func ports(spec corev1.PodSpec) []ListedPort {
	var out []ListedPort
	containers := slices.Clone(spec.Containers)
	for _, c := range spec.InitContainers {
		if IsSidecar(c) {
			containers = append(containers, c)
		}
	}
	for _, c := range containers {
		lp := ListedPort{Container: c.Name, Ports: []string{}, Sidecar: IsSidecar(c)}
		for _, p := range c.Ports {
			proto := p.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			lp.Ports = append(lp.Ports, fmt.Sprintf("%d/%s", p.ContainerPort, proto))
		}
		out = append(out, lp)
	}
	return out
}

func listedPod(p *corev1.Pod, yourKey string) ListedPod {
	lp := ListedPod{Name: p.Name, Ready: IsReady(p), Agents: []ListedAgent{}}
	for _, ec := range p.Spec.EphemeralContainers {
		a, ok := parseAgent(ec)
		if !ok {
			continue
		}
		la := ListedAgent{Name: a.Name, Container: a.Target, Tier: "outgoing", Owner: KeyFingerprint(a.Key), Yours: yourKey != "" && a.Key == yourKey}
		if a.NetAdmin {
			la.Tier = "incoming"
		}
		switch stateOf(p, a.Name) {
		case agentRunning:
			la.State = "running"
		case agentStarting:
			la.State = "starting"
		default:
			la.State = "exited"
		}
		for _, st := range p.Status.EphemeralContainerStatuses {
			if st.Name == a.Name && st.State.Running != nil {
				la.Started = st.State.Running.StartedAt.Time
			}
		}
		lp.Agents = append(lp.Agents, la)
	}
	return lp
}

// KeyFingerprint names a user's key shortly, as ssh does: SHA256:base64.
func KeyFingerprint(encoded string) string {
	sum := sha256.Sum256([]byte(encoded))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])[:16]
}
