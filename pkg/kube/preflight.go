package kube

import (
	"context"
	"fmt"

	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// permission is one RBAC check the plugin needs to pass before it changes anything.
type permission struct {
	verb, resource, subresource string
}

var needed = []permission{
	{"get", "pods", ""},
	{"patch", "pods", "ephemeralcontainers"},
	{"create", "pods", "portforward"},
}

// Preflight asks the API server (SelfSubjectAccessReview) whether the user may
// do what a session needs in the namespace, and names the missing RBAC rule.
func Preflight(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	for _, p := range needed {
		review := &authv1.SelfSubjectAccessReview{Spec: authv1.SelfSubjectAccessReviewSpec{
			ResourceAttributes: &authv1.ResourceAttributes{Namespace: namespace, Verb: p.verb, Resource: p.resource, Subresource: p.subresource},
		}}
		res, err := cs.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("check permissions: %w", err)
		}
		if !res.Status.Allowed {
			res := p.resource
			if p.subresource != "" {
				res += "/" + p.subresource
			}
			return fmt.Errorf("you may not %s %s in namespace %q: ask for an RBAC rule {apiGroups: [\"\"], resources: [%q], verbs: [%q]} (note: pods/ephemeralcontainers is not in the default edit/admin roles)",
				p.verb, res, namespace, res, p.verb)
		}
	}
	return nil
}
