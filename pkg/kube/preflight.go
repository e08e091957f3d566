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
			note := ""
			if p.subresource == "ephemeralcontainers" {
				note = " (note: pods/ephemeralcontainers is not in the default edit/admin roles)"
			}
			return fmt.Errorf("you may not %s %s in namespace %q: ask for an RBAC rule {apiGroups: [%q], resources: [%q], verbs: [%q]}%s",
				p.verb, res, namespace, p.group, res, p.verb, note)
		}
	}
	return nil
}

// neededCopy: --copy-target makes the copy as a Job's pod, renews its
// deadline and deletes both when the session ends.
var neededCopy = []permission{
	{"batch", "create", "jobs", ""},
	{"batch", "get", "jobs", ""},
	{"batch", "patch", "jobs", ""},
	{"batch", "delete", "jobs", ""},
	{"batch", "list", "jobs", ""},
	{"", "list", "pods", ""},
	{"", "delete", "pods", ""},
}

// neededScaleDown: --scale-down sets the source's replicas (and the
// annotation recording them) in one patch, after looking for an HPA.
func neededScaleDown(kind string) []permission {
	res := kind + "s"
	return []permission{
		{"apps", "get", res, ""},
		{"apps", "patch", res, ""},
		{"autoscaling", "list", "horizontalpodautoscalers", ""},
	}
}

// PreflightCopy is Preflight for a --copy-target run, with --scale-down's
// verbs on the source's kind when scaleDownKind ("deployment",
// "statefulset") is set.
func PreflightCopy(ctx context.Context, cs kubernetes.Interface, namespace, scaleDownKind string) error {
	perms := append(append([]permission{}, needed...), neededCopy...)
	if scaleDownKind != "" {
		perms = append(perms, neededScaleDown(scaleDownKind)...)
	}
	return preflight(ctx, cs, namespace, perms)
}
