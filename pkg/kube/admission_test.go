package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var podsResource = schema.GroupResource{Resource: "pods"}

// The refusals below are built as the API server builds them.

// vapError is k8s.io/apiserver's validating policy dispatcher's refusal:
// admission.NewForbidden, then the reason (Invalid unless the policy
// names one) and the message as a cause.
func vapError(name, policy, binding, message string) error {
	msg := fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", policy, binding, message)
	err := apierrors.NewForbidden(podsResource, name, errors.New(msg))
	err.ErrStatus.Reason = metav1.StatusReasonInvalid
	err.ErrStatus.Code = 422
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Message: msg})
	return err
}

// podSecurityError is pod-security-admission's forbiddenResponse.
func podSecurityError(name, level, detail string) error {
	return apierrors.NewForbidden(podsResource, name, fmt.Errorf("violates PodSecurity %q: %s", level, detail))
}

// quotaError is the resourcequota plugin's "exceeded quota".
func quotaError(name, quota string) error {
	return apierrors.NewForbidden(podsResource, name, fmt.Errorf("exceeded quota: %s, requested: %s, used: %s, limited: %s",
		quota, "requests.cpu=10m", "requests.cpu=1", "requests.cpu=1"))
}

// limitRangeError is the limitranger plugin's refusal (an aggregate of
// its constraints).
func limitRangeError(name string) error {
	return apierrors.NewForbidden(podsResource, name, errors.New("maximum cpu usage per Container is 5m, but request is 10m"))
}

const netAdminDetail = `non-default capabilities (container "mirror-agent-abc" must not include "NET_ADMIN" in securityContext.capabilities.add)`

func TestParseDenial(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want Denial
	}{
		{vapError("echo-1", "no-debug", "no-debug-binding", "ephemeral containers are not allowed here"),
			Denial{Kind: "ValidatingAdmissionPolicy", Name: "no-debug", Binding: "no-debug-binding", Message: "ephemeral containers are not allowed here"}},
		{podSecurityError("echo-1", "baseline:latest", netAdminDetail),
			Denial{Kind: "PodSecurity", Name: "baseline:latest", Message: netAdminDetail}},
		{quotaError("kubectl-mirror-agent-x", "compute"),
			Denial{Kind: "ResourceQuota", Name: "compute", Message: "requested: requests.cpu=10m, used: requests.cpu=1, limited: requests.cpu=1"}},
		{apierrors.NewForbidden(podsResource, "x", errors.New("failed quota: compute: must specify limits.cpu for: agent")),
			Denial{Kind: "ResourceQuota", Name: "compute", Message: "must specify limits.cpu for: agent"}},
		{limitRangeError("x"), Denial{Kind: "LimitRange", Message: "maximum cpu usage per Container is 5m, but request is 10m"}},
		{apierrors.NewForbidden(podsResource, "x", errors.New("[maximum cpu usage per Container is 5m, but request is 10m, maximum memory usage per Container is 8Mi, but limit is 256Mi]")),
			Denial{Kind: "LimitRange", Message: "maximum cpu usage per Container is 5m, but request is 10m, maximum memory usage per Container is 8Mi, but limit is 256Mi"}},
	} {
		got, ok := denialOf(tc.err)
		if !ok || got != tc.want {
			t.Errorf("%v:\ngot  %+v %v\nwant %+v", tc.err, got, ok, tc.want)
		}
	}
	// RBAC says forbidden too, and the validation of a bad spec invalid:
	// neither is an admission refusal.
	for _, err := range []error{
		apierrors.NewForbidden(podsResource, "x", errors.New(`User "bob" cannot patch resource "pods/ephemeralcontainers" in API group "" in the namespace "default"`)),
		apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "x", field.ErrorList{field.Invalid(field.NewPath("spec", "ephemeralContainers"), "x", "bad")}),
		errors.New("connection refused"),
	} {
		if d, ok := denialOf(err); ok {
			t.Errorf("%v: read as a denial %+v", err, d)
		}
	}
}

// targetPod is a Ready pod with one container, for EnsureAgent.
func targetPod() *corev1.Pod {
	p := pod("echo-1", true, time.Hour, nil, "echo")
	p.ResourceVersion, p.UID = "1", "uid-1"
	return p
}

// ensureRefused runs EnsureAgent against a pod whose ephemeral container
// patch is refused with denial, and returns the error, the progress lines
// and how many patches were sent.
func ensureRefused(t *testing.T, netAdmin bool, denial error) ([]string, int, error) {
	t.Helper()
	cs := fake.NewSimpleClientset(targetPod())
	patches := 0
	cs.PrependReactor("patch", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "ephemeralcontainers" {
			return false, nil, nil
		}
		patches++
		return true, nil, denial
	})
	var lines []string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := EnsureAgent(ctx, cs, targetPod(), "echo", AgentOptions{Image: "agent:v1", Key: "ed25519:alice", NetAdmin: netAdmin,
		StartupTimeout: time.Minute, Progress: func(l string) { lines = append(lines, l) }})
	return lines, patches, err
}

// A refused agent is one line naming who refused and why, sent once,
// with nothing said about starting an agent.
func TestAgentRefusedByAdmission(t *testing.T) {
	for _, tc := range []struct {
		name     string
		netAdmin bool
		denial   error
		want     []string
	}{
		{"policy", false, vapError("echo-1", "no-debug", "no-debug-binding", "ephemeral containers are not allowed here"),
			[]string{"ValidatingAdmissionPolicy 'no-debug' (binding 'no-debug-binding') refused the agent in pod/echo-1: ephemeral containers are not allowed here",
				"nothing was added", "kubectl mirror run -n default -- CMD"}},
		{"pod security, incoming", true, podSecurityError("echo-1", "baseline:latest", netAdminDetail),
			[]string{`namespace default enforces Pod Security "baseline:latest"`, "NET_ADMIN", "run without --incoming"}},
		{"pod security, outgoing", false, podSecurityError("echo-1", "restricted:latest", `runAsNonRoot != true (pod or container "mirror-agent-abc" must set securityContext.runAsNonRoot=true)`),
			[]string{`Pod Security "restricted:latest", enforced on namespace default, refused the agent in pod/echo-1: runAsNonRoot != true`, "no target"}},
		{"quota", false, quotaError("echo-1", "compute"), []string{"ResourceQuota 'compute' of namespace default refused the agent in pod/echo-1", "kubectl describe resourcequota -n default"}},
	} {
		lines, patches, err := ensureRefused(t, tc.netAdmin, tc.denial)
		var refused *RefusedError
		if !errors.As(err, &refused) {
			t.Errorf("%s: got %v, want a RefusedError", tc.name, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "\n") || patches != 1 || len(lines) != 0 {
			t.Errorf("%s: %q in one line, sent once (%d), nothing said (%q)", tc.name, err, patches, lines)
		}
	}
	// Anything else keeps its own words.
	_, _, err := ensureRefused(t, false, apierrors.NewInternalError(errors.New("etcd is down")))
	var refused *RefusedError
	if errors.As(err, &refused) || !strings.Contains(err.Error(), "etcd is down") {
		t.Errorf("an internal error: %v", err)
	}
}

// A targetless run's Job, or the pod its controller makes, refused by
// admission: one line naming the quota, limit or policy, and no Job left.
func TestAgentPodRefusedByAdmission(t *testing.T) {
	quota := quotaError("", "compute").Error()
	for _, tc := range []struct {
		name      string
		createErr error  // the Job's creation fails with this
		event     string // else the Job controller says this
		want      string
	}{
		{"job refused by a policy", vapError("kubectl-mirror-agent-", "no-jobs", "b", "jobs need an owner label"), "",
			"ValidatingAdmissionPolicy 'no-jobs' (binding 'b') refused the agent pod: jobs need an owner label; name a target instead"},
		{"pod over quota", nil, "Error creating: " + quota,
			"ResourceQuota 'compute' of namespace shop refused the agent pod: requested: requests.cpu=10m"},
		{"pod over a limit", nil, "Error creating: " + limitRangeError("kubectl-mirror-agent-x-y").Error(),
			"a LimitRange of namespace shop refused the agent pod: maximum cpu usage per Container is 5m, but request is 10m; see kubectl describe limitrange -n shop"},
	} {
		cs := fake.NewSimpleClientset()
		cs.PrependReactor("create", "jobs", func(a k8stesting.Action) (bool, runtime.Object, error) {
			if tc.createErr != nil {
				return true, nil, tc.createErr
			}
			// The fake makes no name from generateName.
			job := a.(k8stesting.CreateAction).GetObject().(*batchv1.Job).DeepCopy()
			job.Name = "kubectl-mirror-agent-x"
			return true, job, cs.Tracker().Create(batchv1.SchemeGroupVersion.WithResource("jobs"), job, "shop")
		})
		if tc.event != "" {
			_, _ = cs.CoreV1().Events("shop").Create(context.Background(), &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "shop"},
				InvolvedObject: corev1.ObjectReference{Kind: "Job", Name: "kubectl-mirror-agent-x"}, Reason: "FailedCreate", Message: tc.event}, metav1.CreateOptions{})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := EnsureAgentPod(ctx, cs, "shop", AgentOptions{Image: "agent:v1", Key: "ed25519:alice", StartupTimeout: time.Minute}, "")
		cancel()
		var refused *RefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v\nwant one line with %q", tc.name, err, tc.want)
		}
		if jobs, _ := cs.BatchV1().Jobs("shop").List(context.Background(), metav1.ListOptions{}); len(jobs.Items) != 0 {
			t.Errorf("%s: the refused Job was left: %v", tc.name, jobs.Items[0].Name)
		}
	}
}
