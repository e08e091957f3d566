package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Copy is a copy of a target as `ls` shows it.
type Copy struct {
	Namespace string    `json:"namespace"`
	Job       string    `json:"job"`
	Pod       string    `json:"pod,omitempty"`
	Source    string    `json:"source"` // deployment/echo
	User      string    `json:"user"`
	Yours     bool      `json:"yours"`
	ScaleDown bool      `json:"scaleDown,omitempty"`
	State     string    `json:"state"` // running, ended, or held by a plugin that is gone
	Started   time.Time `json:"started,omitzero"`
	holder    string
}

// Live: its session may still use it (it has not ended, and its plugin,
// when it ran on this machine, still runs).
func (c Copy) Live() bool { return c.State == "running" || c.State == "starting" }

// ListCopies lists the copies of targets in namespace ("" for all);
// yourKey marks the caller's.
func ListCopies(ctx context.Context, cs kubernetes.Interface, namespace, yourKey string) ([]Copy, error) {
	sel := labels.Set{labelManagedBy: managedBy, labelName: copyName}.String()
	jobs, err := cs.BatchV1().Jobs(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	podOf := map[string]*corev1.Pod{}
	for i := range pods.Items {
		p := &pods.Items[i]
		podOf[p.Namespace+"/"+p.Labels[batchv1.JobNameLabel]] = p
	}
	out := make([]Copy, 0, len(jobs.Items))
	for _, j := range jobs.Items {
		c := Copy{Namespace: j.Namespace, Job: j.Name, Source: j.Annotations[annCopySrc], User: j.Annotations[annCopyUser],
			ScaleDown: j.Annotations[annScaleDown] == "true", Started: j.CreationTimestamp.Time, holder: j.Annotations[annHolder],
			Yours: yourKey != "" && j.Labels[labelOwner] == ownerLabel(yourKey)}
		p := podOf[j.Namespace+"/"+j.Name]
		if p != nil {
			c.Pod = p.Name
		}
		c.State = copyState(&j, p)
		out = append(out, c)
	}
	return out, nil
}

// copyState: ended (its Job finished, or it is being deleted), stale (its
// plugin ran here and is gone), starting or running.
func copyState(j *batchv1.Job, p *corev1.Pod) string {
	if j.DeletionTimestamp != nil {
		return "ended"
	}
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed || c.Type == batchv1.JobFailureTarget) && c.Status == corev1.ConditionTrue {
			return "ended"
		}
	}
	if p != nil && (p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded) {
		return "ended"
	}
	if holderGone(j.Annotations[annHolder]) {
		return "stale"
	}
	if p == nil || !IsReady(p) {
		return "starting"
	}
	return "running"
}

// Cleaned is what CleanupCopies did, one line each.
type Cleaned []string

// CleanupCopies deletes the copies in namespace ("" for all) that no
// session uses (ended, or held by a plugin of this machine that is gone)
// and gives the sources they scaled down their replica count back.
func CleanupCopies(ctx context.Context, cs kubernetes.Interface, namespace string) (Cleaned, error) {
	copies, err := ListCopies(ctx, cs, namespace, "")
	if err != nil {
		return nil, err
	}
	var done Cleaned
	sources := map[string]bool{}
	for _, c := range copies {
		if c.ScaleDown {
			sources[c.Namespace+"/"+c.Source] = true
		}
		if c.Live() {
			continue
		}
		if err := DeleteCopy(ctx, cs, c.Namespace, c.Job, c.Pod); err != nil {
			return done, fmt.Errorf("delete job/%s: %w", c.Job, err)
		}
		done = append(done, fmt.Sprintf("deleted job/%s in %s, the %s copy of %s", c.Job, c.Namespace, c.State, c.Source))
	}
	// Sources whose copies are all gone already carry only the annotation.
	more, err := scaledDown(ctx, cs, namespace)
	if err != nil {
		return done, err
	}
	for _, s := range more {
		sources[s] = true
	}
	for s := range sources {
		ns, ref, _ := strings.Cut(s, "/")
		kind, name, _ := strings.Cut(ref, "/")
		n, restored, err := RestoreScale(ctx, cs, ns, kind, name, "")
		if err != nil {
			return done, err
		}
		if restored {
			done = append(done, fmt.Sprintf("restored %s in %s to %s", ref, ns, Replicas(int(n))))
		}
	}
	return done, nil
}

// scaledDown lists namespace/kind/name of the Deployments and StatefulSets
// carrying AnnScaledFrom.
func scaledDown(ctx context.Context, cs kubernetes.Interface, namespace string) ([]string, error) {
	var out []string
	deps, err := cs.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		if _, ok := d.Annotations[AnnScaledFrom]; ok {
			out = append(out, d.Namespace+"/deployment/"+d.Name)
		}
	}
	sts, err := cs.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range sts.Items {
		if _, ok := s.Annotations[AnnScaledFrom]; ok {
			out = append(out, s.Namespace+"/statefulset/"+s.Name)
		}
	}
	return out, nil
}
