package kube

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
)

// permission is one RBAC check the plugin needs to pass before it changes anything.
type permission struct {
	group, verb, resource, subresource string
}

var needed = []permission{
	{"", "get", "pods", ""},
	{"", "patch", "pods", "ephemeralcontainers"},
	{"", "create", "pods", "portforward"},
}

// neededTargetless: a targetless run starts its agent as a Job's pod.
var neededTargetless = []permission{
	{"batch", "create", "jobs", ""},
	{"", "list", "pods", ""},
	{"", "create", "pods", "portforward"},
}

// Preflight asks the API server (SelfSubjectAccessReview) whether the user may
// do what a session needs in the namespace, and names the missing RBAC rule.
func Preflight(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	return preflight(ctx, cs, namespace, needed)
}

// PreflightTargetless is Preflight for a run with no target.
func PreflightTargetless(ctx context.Context, cs kubernetes.Interface, namespace string) error {
	return preflight(ctx, cs, namespace, neededTargetless)
}

func preflight(ctx context.Context, cs kubernetes.Interface, namespace string, perms []permission) error {
	for _, p := range perms {
		allowed, err := Permission{p}.Allowed(ctx, cs, namespace)
		if err != nil {
			return fmt.Errorf("check permissions: %w", err)
		}
		if !allowed {
			res := p.resource
			if p.subresource != "" {
				res += "/" + p.subresource
			}
			return fmt.Errorf("you may not %s %s in namespace %q: ask for an RBAC rule {apiGroups: [%q], resources: [%q], verbs: [%q]} (note: pods/ephemeralcontainers is not in the default edit/admin roles)",
				p.verb, res, namespace, p.group, res, p.verb)
		}
	}
	return nil
}
