package kube

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestCopyJob(t *testing.T) {
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api"}, Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{
			{Name: "app", Command: []string{"/api"}, Args: []string{"serve"}, ReadinessProbe: probe, LivenessProbe: probe},
			{Name: "sidecar", Command: []string{"/proxy"}, ReadinessProbe: probe},
		}}}}}
	src, err := SourceOf(dep)
	if err != nil {
		t.Fatal(err)
	}
	o := CopyOptions{Labels: true, Key: "ed25519:alice", User: "alice@laptop", Holder: "laptop/42/7", Lease: 6 * time.Minute, Suffix: "x7k2q", ScaleDown: true}
	job, err := CopyJob("shop", src, o)
	if err != nil {
		t.Fatal(err)
	}
	if job.Name != "api-mirror-copy-x7k2q" || job.Namespace != "shop" {
		t.Errorf("name %s/%s", job.Namespace, job.Name)
	}
	if *job.Spec.ActiveDeadlineSeconds != 360 || *job.Spec.BackoffLimit != 0 || *job.Spec.TTLSecondsAfterFinished != 0 {
		t.Errorf("deadline %d, backoff %d, ttl %d", *job.Spec.ActiveDeadlineSeconds, *job.Spec.BackoffLimit, *job.Spec.TTLSecondsAfterFinished)
	}
	ps := job.Spec.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %s: a Job's pod takes Never", ps.RestartPolicy)
	}
	if diff := cmp.Diff(dep.Spec.Template.Spec.Containers, ps.Containers); diff != "" {
		t.Errorf("without --copy-target-command the containers are the source's (-want +got):\n%s", diff)
	}
	wantLabels := map[string]string{"app": "api", labelManagedBy: managedBy, labelName: copyName, labelOwner: ownerLabel("ed25519:alice"), LabelCopyOf: "deployment.api"}
	if diff := cmp.Diff(wantLabels, job.Spec.Template.Labels); diff != "" {
		t.Errorf("pod labels (-want +got):\n%s", diff)
	}
	if job.Annotations[annCopySrc] != "deployment/api" || job.Annotations[annScaleDown] != "true" || job.Annotations[annHolder] != "laptop/42/7" {
		t.Errorf("annotations %v", job.Annotations)
	}

	o.Labels, o.Command, o.Container = false, []string{"sleep", "1d"}, ""
	job, err = CopyJob("shop", src, o)
	if err != nil {
		t.Fatal(err)
	}
	app, side := job.Spec.Template.Spec.Containers[0], job.Spec.Template.Spec.Containers[1]
	if !cmp.Equal(app.Command, []string{"sleep", "1d"}) || app.Args != nil || app.ReadinessProbe != nil || app.LivenessProbe != nil {
		t.Errorf("--copy-target-command: app container %+v", app)
	}
	if side.ReadinessProbe == nil || side.Command[0] != "/proxy" {
		t.Errorf("the other container changed: %+v", side)
	}
	if _, ok := job.Spec.Template.Labels["app"]; ok {
		t.Errorf("--copy-target-labels=false kept the source's labels: %v", job.Spec.Template.Labels)
	}
	if dep.Spec.Template.Spec.Containers[0].Args == nil {
		t.Error("the source's template was changed")
	}
}

func TestCopyJobOfAJobAStatefulSetAndAPod(t *testing.T) {
	o := CopyOptions{Labels: true, Key: "k", Lease: time.Minute, Suffix: "abcde"}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "nightly"}, Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "n", "controller-uid": "u", batchv1.ControllerUidLabel: "u", "job-name": "nightly", batchv1.JobNameLabel: "nightly"}},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure, Containers: []corev1.Container{{Name: "c"}}}}}}
	cron := &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: "report"}, Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: job.Spec}}}
	for _, obj := range []runtime.Object{job, cron} {
		src, err := SourceOf(obj)
		if err != nil {
			t.Fatal(err)
		}
		j, err := CopyJob("ns", src, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range jobLabels {
			if _, ok := j.Spec.Template.Labels[l]; ok {
				t.Errorf("%s: the copy keeps the source Job's label %s", src.Ref(), l)
			}
		}
		if j.Spec.Template.Labels["app"] != "n" {
			t.Errorf("%s: labels %v", src.Ref(), j.Spec.Template.Labels)
		}
	}

	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: appsv1.StatefulSetSpec{
		Template:             corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}}}},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}}}
	src, _ := SourceOf(sts)
	j, _ := CopyJob("ns", src, o)
	if v := j.Spec.Template.Spec.Volumes; len(v) != 1 || v[0].Name != "data" || v[0].EmptyDir == nil {
		t.Errorf("a StatefulSet's claim is an emptyDir in the copy: %+v", v)
	}

	prio := int32(7)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"app": "p"}}, Spec: corev1.PodSpec{
		NodeName: "node1", Priority: &prio, Containers: []corev1.Container{{Name: "c"}},
		EphemeralContainers: []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "mirror-agent-1"}}}}}
	src, _ = SourceOf(pod)
	j, _ = CopyJob("ns", src, o)
	if s := j.Spec.Template.Spec; s.NodeName != "" || s.Priority != nil || s.EphemeralContainers != nil {
		t.Errorf("a pod's copy keeps what the scheduler and admission set: %+v", s)
	}

	if _, err := CopyJob("ns", src, CopyOptions{Container: "nope", Suffix: "abcde"}); err == nil || !strings.Contains(err.Error(), `no container "nope"`) {
		t.Errorf("-c naming no container: %v", err)
	}
	if name := CopyName(strings.Repeat("a", 80), "abcde"); len(name) > 63 || !strings.HasSuffix(name, "-mirror-copy-abcde") {
		t.Errorf("CopyName of a long name: %s (%d)", name, len(name))
	}
}
