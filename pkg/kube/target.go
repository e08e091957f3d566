// Package kube is the plugin's side of the cluster: resolving a target to a
// Ready pod, preflight checks, injecting and finding the agent, and the
// port-forward dialer.
package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
)

// DefaultContainerAnnotation names the container kubectl picks by default.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// Target is the pod and container a session runs against.
type Target struct {
	Namespace string
	Pod       *corev1.Pod
	Container string
	// Ref is the target as the user named it, for messages ("deploy/echo").
	Ref string
	// Selector picks every pod of a workload target; nil for pod/NAME.
	Selector labels.Selector
}

// ErrNoReadyPod is returned when the workload has no pod to run against.
var ErrNoReadyPod = errors.New("no Ready pod")

// FindObject resolves KIND/NAME or KIND NAME through cli-runtime's resource
// builder, exactly as kubectl does (short names, groups, -n, contexts).
func FindObject(getter resource.RESTClientGetter, namespace string, args []string) (runtime.Object, string, error) {
	r := resource.NewBuilder(getter).
		WithScheme(scheme.Scheme, scheme.Scheme.PrioritizedVersionsAllGroups()...).
		NamespaceParam(namespace).DefaultNamespace().
		ResourceTypeOrNameArgs(true, args...).
		SingleResourceType().
		Flatten().
		Do()
	if err := r.Err(); err != nil {
		if strings.Contains(err.Error(), "doesn't have a resource type") {
			return nil, "", fmt.Errorf("%w: name a pod, deploy, statefulset, daemonset, replicaset, job or service", err)
		}
		return nil, "", err
	}
	infos, err := r.Infos()
	if err != nil {
		return nil, "", err
	}
	if len(infos) != 1 {
		return nil, "", fmt.Errorf("%s names %d objects; name exactly one, such as deploy/NAME", strings.Join(args, " "), len(infos))
	}
	info := infos[0]
	ref := strings.ToLower(info.Mapping.GroupVersionKind.Kind) + "/" + info.Name
	return info.Object, ref, nil
}

// PodSelector returns the label selector that picks the object's pods, or
// the pod itself.
func PodSelector(obj runtime.Object) (*corev1.Pod, labels.Selector, error) {
	var sel *metav1.LabelSelector
	switch o := obj.(type) {
	case *corev1.Pod:
		return o, nil, nil
	case *appsv1.Deployment:
		sel = o.Spec.Selector
	case *appsv1.StatefulSet:
		sel = o.Spec.Selector
	case *appsv1.DaemonSet:
		sel = o.Spec.Selector
	case *appsv1.ReplicaSet:
		sel = o.Spec.Selector
	case *batchv1.Job:
		if how, done := jobFinished(o); done {
			return nil, nil, fmt.Errorf("job/%s has finished (%s): no pod of it will become Ready; add --copy-target to run against a new pod made from its template", o.Name, how)
		}
		sel = o.Spec.Selector
	case *batchv1.CronJob:
		return nil, nil, fmt.Errorf("cronjob/%s has no pod to run against between its runs: add --copy-target to run against a new pod made from its jobTemplate", o.Name)
	case *corev1.Service:
		if len(o.Spec.Selector) == 0 {
			return nil, nil, fmt.Errorf("service/%s has no selector, so no pod behind it: name a pod or a workload instead", o.Name)
		}
		return nil, withoutCopies(labels.SelectorFromSet(o.Spec.Selector)), nil
	default:
		return nil, nil, fmt.Errorf("%T is not a kind kubectl mirror can run against: use pod, deploy, statefulset, daemonset, replicaset, job or service", obj)
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, nil, err
	}
	return nil, withoutCopies(s), nil
}

// withoutCopies narrows a workload's selector to its own pods: a copy
// (--copy-target) keeps its source's labels, so its Services send it
// traffic, but a run, a port-forward or a steal on the workload means the
// workload's pods, never somebody's copy.
func withoutCopies(s labels.Selector) labels.Selector {
	r, err := labels.NewRequirement(LabelCopyOf, selection.DoesNotExist, nil)
	if err != nil {
		return s
	}
	return s.Add(*r)
}

// jobFinished says whether a Job has ended, and how.
func jobFinished(j *batchv1.Job) (string, bool) {
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return string(c.Type), true
		}
	}
	return "", false
}

// PickReadyPod returns a Ready pod matching sel: the oldest, so repeated runs
// land on the same pod (and reuse its agent) while it lives.
func PickReadyPod(ctx context.Context, cs kubernetes.Interface, namespace string, sel labels.Selector, ref string) (*corev1.Pod, error) {
	list, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, err
	}
	var ready []corev1.Pod
	var states []string
	for _, p := range list.Items {
		if IsReady(&p) {
			ready = append(ready, p)
		} else {
			states = append(states, p.Name+" "+podState(&p))
		}
	}
	if len(ready) == 0 {
		if len(states) == 0 {
			return nil, fmt.Errorf("%s: %w: it has no pods; scale it up or name another target", ref, ErrNoReadyPod)
		}
		return nil, fmt.Errorf("%s: %w (%s): wait until one is Ready, or name a pod with pod/NAME", ref, ErrNoReadyPod, strings.Join(states, ", "))
	}
	sort.Slice(ready, func(i, j int) bool {
		ti, tj := ready[i].CreationTimestamp, ready[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return ready[i].Name < ready[j].Name
	})
	return &ready[0], nil
}

// IsReady: running, Ready condition true, not being deleted.
func IsReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podState(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	if p.Status.Phase == corev1.PodRunning {
		return "Running, not Ready"
	}
	return string(p.Status.Phase)
}

// PickContainer applies -c, else the default-container annotation, else the
// first container.
func PickContainer(p *corev1.Pod, requested string) (string, error) {
	names := make([]string, 0, len(p.Spec.Containers))
	for _, c := range p.Spec.Containers {
		names = append(names, c.Name)
	}
	want := requested
	if want == "" {
		want = p.Annotations[DefaultContainerAnnotation]
	}
	if want == "" {
		return names[0], nil
	}
	for _, n := range names {
		if n == want {
			return n, nil
		}
	}
	if requested == "" {
		return names[0], nil // a stale annotation, or one naming a sidecar: the app, as kubectl falls back
	}
	if kind := initKind(p, requested); kind != "" {
		return "", fmt.Errorf("container %q of pod/%s is %s, not an app container: name one of %s with -c", requested, p.Name, kind, strings.Join(names, ", "))
	}
	return "", fmt.Errorf("pod/%s has no container %q; its containers: %s", p.Name, requested, strings.Join(names, ", "))
}

// initKind says what the init container name of p is ("" when p has
// none of that name). A native sidecar (restartPolicy: Always, Kubernetes
// 1.29+) runs beside the app for the pod's life, but it is the mesh's or
// the platform's, not the program being developed: the agent runs as an
// app container runs, and its files, environment and probes are the app's.
func initKind(p *corev1.Pod, name string) string {
	for _, c := range p.Spec.InitContainers {
		if c.Name != name {
			continue
		}
		if IsSidecar(c) {
			return "a native sidecar (an init container with restartPolicy: Always)"
		}
		return "an init container, which ran before the app"
	}
	return ""
}

// IsSidecar: an init container that keeps running beside the app (a
// native sidecar).
func IsSidecar(c corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// ExplainNotFound turns the builder's NotFound into one line naming the fix,
// telling a missing namespace from a missing object when it may.
func ExplainNotFound(ctx context.Context, cs kubernetes.Interface, namespace string, args []string, err error) error {
	if !apierrors.IsNotFound(err) {
		return err
	}
	if _, nsErr := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{}); apierrors.IsNotFound(nsErr) {
		return fmt.Errorf("namespace %q not found: check -n/--namespace or your context's namespace", namespace)
	}
	return fmt.Errorf("%s not found in namespace %q: check the name (kubectl get %s -n %s)", strings.Join(args, " "), namespace, kindOf(args), namespace)
}

func kindOf(args []string) string {
	if len(args) == 0 {
		return "pods"
	}
	kind, _, _ := strings.Cut(args[0], "/")
	return kind
}
