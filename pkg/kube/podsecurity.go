package kube

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The namespace labels Pod Security admission enforces.
const (
	PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"
	podSecurityVersionLabel = "pod-security.kubernetes.io/enforce-version"
)

// EnforcedPodSecurity is the Pod Security level the namespace's label
// enforces, as admission names it ("baseline:latest"; "" when none).
// known is false when the namespace cannot be read (users often may not
// get namespaces): then admission has the last word.
func EnforcedPodSecurity(ctx context.Context, cs kubernetes.Interface, namespace string) (level string, known bool) {
	ns, err := cs.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		return "", false
	}
	level = ns.Labels[PodSecurityEnforceLabel]
	if level == "" {
		return "", true
	}
	version := ns.Labels[podSecurityVersionLabel]
	if version == "" {
		version = "latest"
	}
	return level + ":" + version, true
}

// ForbidsNetAdmin says whether a level refuses the incoming agent, which
// adds NET_ADMIN and runs as root: every level but privileged does
// (baseline admits a fixed list of capabilities without it, restricted
// none but NET_BIND_SERVICE), and admission enforces a value it cannot
// read as restricted.
func ForbidsNetAdmin(level string) bool {
	name, _, _ := strings.Cut(level, ":")
	return name != "" && name != "privileged"
}

// IncomingForbidden is the one line refusing incoming traffic in a
// namespace whose Pod Security level forbids NET_ADMIN.
func IncomingForbidden(namespace, level string) error {
	return &RefusedError{Denial{Kind: "PodSecurity", Name: level}, incomingForbiddenLine(namespace, level)}
}

func incomingForbiddenLine(namespace, level string) string {
	return fmt.Sprintf("namespace %s enforces Pod Security %q, which forbids the NET_ADMIN capability incoming traffic needs: "+
		"run without --incoming (outgoing traffic, env and files work without it), or against a pod in a namespace at level privileged",
		namespace, level)
}
