package kube

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// A copy of the target is one pod of a Job the plugin creates from the
// source's pod template. The Job is the copy's controller, so no
// ReplicaSet, StatefulSet or Job of the source ever adopts it (a controller
// adopts only pods with no controller reference) while it keeps the labels
// Services select on. The Job's activeDeadlineSeconds is a lease the
// session renews: when the plugin dies, the deadline passes, the Job
// controller ends the pod and the TTL deletes Job and pod.
const (
	LabelCopyOf  = "kubectl-mirror.io/copy-of" // kind.name of the source, label-safe
	copyName     = "kubectl-mirror-copy"
	annCopySrc   = "kubectl-mirror.io/copy-source" // kind/name, in full
	annCopyUser  = "kubectl-mirror.io/user"        // who, readable: user@host
	annHolder    = "kubectl-mirror.io/holder"      // host/pid/start of the plugin holding it
	annScaleDown = "kubectl-mirror.io/scale-down"  // "true": its source was scaled down for it
	copyInfix    = "-mirror-copy-"
)

// jobLabels are the labels a Job puts on its pods; a Job's template copied
// into a new Job must lose them, or the new Job would refuse its selector.
var jobLabels = []string{"controller-uid", "job-name", batchv1.ControllerUidLabel, batchv1.JobNameLabel}

// CopyOptions shape the copy of a target.
type CopyOptions struct {
	Container string   // -c: the container --copy-target-command replaces
	Command   []string // replaces that container's command (args cleared, probes dropped); nil: the original
	Labels    bool     // keep the source's labels, so its Services select the copy
	ScaleDown bool     // the source is scaled to 0 for the session (recorded on the copy)
	Key       string   // the user's public key (protocol.EncodeKey)
	User      string   // user@host, for people reading the copy
	Holder    string   // Holder(): the plugin process holding the copy
	Lease     time.Duration
	Suffix    string // random, lower-case alphanumerics (5)
}

// Source is what a copy is made from: the object the user named and its
// pod template.
type Source struct {
	Kind, Name string // "deployment", "echo"
	Template   corev1.PodTemplateSpec
	// ClaimTemplates: a StatefulSet's volumeClaimTemplates, which its pods
	// mount but its template does not hold.
	ClaimTemplates []string
}

// Ref is the source as run takes it: deployment/echo.
func (s Source) Ref() string { return s.Kind + "/" + s.Name }

// SourceOf finds the pod template of a target the user named.
func SourceOf(obj runtime.Object) (Source, error) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return Source{Kind: "deployment", Name: o.Name, Template: o.Spec.Template}, nil
	case *appsv1.StatefulSet:
		s := Source{Kind: "statefulset", Name: o.Name, Template: o.Spec.Template}
		for _, c := range o.Spec.VolumeClaimTemplates {
			s.ClaimTemplates = append(s.ClaimTemplates, c.Name)
		}
		return s, nil
	case *appsv1.ReplicaSet:
		return Source{Kind: "replicaset", Name: o.Name, Template: o.Spec.Template}, nil
	case *appsv1.DaemonSet:
		return Source{Kind: "daemonset", Name: o.Name, Template: o.Spec.Template}, nil
	case *batchv1.Job:
		return Source{Kind: "job", Name: o.Name, Template: o.Spec.Template}, nil
	case *batchv1.CronJob:
		return Source{Kind: "cronjob", Name: o.Name, Template: o.Spec.JobTemplate.Spec.Template}, nil
	case *corev1.Pod:
		return Source{Kind: "pod", Name: o.Name, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: o.Labels, Annotations: o.Annotations}, Spec: o.Spec}}, nil
	case *corev1.Service:
		return Source{}, fmt.Errorf("--copy-target copies a workload or a pod, not service/%s: name the deployment (or other workload) behind it", o.Name)
	}
	return Source{}, fmt.Errorf("--copy-target cannot copy a %T: name a deploy, statefulset, replicaset, daemonset, job, cronjob or pod", obj)
}

// CopyJob is the Job whose one pod is the copy of src. Pure: the names come
// from o.Suffix.
func CopyJob(namespace string, src Source, o CopyOptions) (*batchv1.Job, error) {
	tmpl := *src.Template.DeepCopy()
	spec := &tmpl.Spec
	pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: *spec}
	container, err := PickContainer(pod, o.Container)
	if err != nil {
		return nil, err
	}
	if o.Command != nil {
		for i := range spec.Containers {
			if c := &spec.Containers[i]; c.Name == container {
				// Probes of the original command would fail, and a failed
				// liveness probe would end the copy.
				c.Command, c.Args = o.Command, nil
				c.LivenessProbe, c.ReadinessProbe, c.StartupProbe = nil, nil, nil
			}
		}
	}
	// A pod's spec carries what the scheduler and admission filled in.
	spec.NodeName, spec.EphemeralContainers = "", nil
	spec.Priority, spec.PreemptionPolicy = nil, nil
	spec.RestartPolicy = corev1.RestartPolicyNever
	spec.ActiveDeadlineSeconds = nil
	for _, claim := range src.ClaimTemplates {
		spec.Volumes = append(spec.Volumes, corev1.Volume{Name: claim, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	}

	own := map[string]string{labelManagedBy: managedBy, labelName: copyName, labelOwner: ownerLabel(o.Key), LabelCopyOf: copyOfLabel(src)}
	podLabels := map[string]string{}
	if o.Labels {
		for k, v := range tmpl.Labels {
			podLabels[k] = v
		}
		for _, k := range jobLabels {
			delete(podLabels, k)
		}
	}
	for k, v := range own {
		podLabels[k] = v
	}
	tmpl.Labels = podLabels
	ann := map[string]string{annCopySrc: src.Ref(), annCopyUser: o.User, annHolder: o.Holder}
	if o.ScaleDown {
		ann[annScaleDown] = "true"
	}
	tmpl.Annotations = withKeys(tmpl.Annotations, ann)
	delete(tmpl.Annotations, annHolder) // the Job's is the one kept current

	zero := int32(0)
	ttl := int32(0)
	deadline := int64(o.Lease / time.Second)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: CopyName(src.Name, o.Suffix), Namespace: namespace, Labels: own, Annotations: ann},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &zero,
			TTLSecondsAfterFinished: &ttl,
			ActiveDeadlineSeconds:   &deadline,
			Template:                tmpl,
		},
	}, nil
}

// CopyName is the copy Job's name: the source's, shortened so that the
// name stays a valid label value (the Job labels its pod with it).
func CopyName(source, suffix string) string {
	max := 63 - len(copyInfix) - len(suffix)
	if len(source) > max {
		source = strings.TrimRight(source[:max], "-.")
	}
	return source + copyInfix + suffix
}

// copyOfLabel is kind.name, or its digest when too long for a label.
func copyOfLabel(src Source) string {
	v := src.Kind + "." + src.Name
	if len(v) > 63 {
		return src.Kind + "." + ownerLabel(src.Name)[:20]
	}
	return v
}

func withKeys(m, add map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for k, v := range add {
		out[k] = v
	}
	return out
}
