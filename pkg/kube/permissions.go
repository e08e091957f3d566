package kube

import (
	"context"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Permission is one RBAC rule a session needs, for `doctor` to check one by one.
type Permission struct{ p permission }

// Permissions lists what a run needs in a namespace (a targetless one: what its
// agent pod needs).
func Permissions(targetless bool) []Permission {
	if targetless {
		return exported(neededTargetless)
	}
	return exported(needed)
}

func exported(list []permission) []Permission {
	out := make([]Permission, len(list))
	for i, p := range list {
		out[i] = Permission{p}
	}
	return out
}

// String is the rule as kubectl auth can-i names it: "patch pods/ephemeralcontainers".
func (p Permission) String() string {
	res := p.p.resource
	if p.p.subresource != "" {
		res += "/" + p.p.subresource
	}
	if p.p.group != "" {
		res += "." + p.p.group
	}
	return p.p.verb + " " + res
}

// Allowed asks the API server (SelfSubjectAccessReview) whether the user has p in namespace.
func (p Permission) Allowed(ctx context.Context, cs kubernetes.Interface, namespace string) (bool, error) {
	review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authv1.ResourceAttributes{Namespace: namespace, Group: p.p.group, Verb: p.p.verb,
			Resource: p.p.resource, Subresource: p.p.subresource},
	}}
	res, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

// CopyPermissions lists what --copy-target adds to a run's needs, with
// --scale-down's on Deployments.
func CopyPermissions() []Permission {
	return exported(append(append([]permission{}, neededCopy...), neededScaleDown("deployment")...))
}
