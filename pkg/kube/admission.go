package kube

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// Admission controllers refuse a change with a message of a known shape,
// wrapped by the API server in "pods "x" is forbidden: ..." (or, for a
// Job's pod, in the Job controller's event). The shapes read here are the
// API server's own (k8s.io/apiserver validating policy dispatcher,
// pod-security-admission, the resourcequota and limitranger plugins), so a
// refusal becomes one line naming who refused and why.
var (
	vapDenied   = regexp.MustCompile(`ValidatingAdmissionPolicy '([^']*)'(?: with binding '([^']*)')? denied request: (.*)`)
	psaDenied   = regexp.MustCompile(`violates PodSecurity "([^"]*)": (.*)`)
	quotaDenied = regexp.MustCompile(`(?:exceeded quota|failed quota): ([^,:]+)[,:] (.*)`)
	limitDenied = regexp.MustCompile(`\[?((?:maximum|minimum) \S+ usage per \S+ is .*|\S+ max limit to request ratio per \S+ is .*)`)
)

// Denial is an admission controller's refusal.
type Denial struct {
	// Kind is who refused: "ValidatingAdmissionPolicy", "PodSecurity",
	// "ResourceQuota" or "LimitRange".
	Kind string
	// Name names the policy ("no-debug"), the quota or the Pod Security
	// level ("baseline:latest"); Binding the policy's binding.
	Name, Binding string
	Message       string // what it said
}

// ParseDenial reads an admission refusal out of an API error's or an
// event's message.
func ParseDenial(msg string) (Denial, bool) {
	if m := vapDenied.FindStringSubmatch(msg); m != nil {
		return Denial{Kind: "ValidatingAdmissionPolicy", Name: m[1], Binding: m[2], Message: m[3]}, true
	}
	if m := psaDenied.FindStringSubmatch(msg); m != nil {
		return Denial{Kind: "PodSecurity", Name: m[1], Message: m[2]}, true
	}
	if m := quotaDenied.FindStringSubmatch(msg); m != nil {
		return Denial{Kind: "ResourceQuota", Name: m[1], Message: m[2]}, true
	}
	if m := limitDenied.FindStringSubmatch(msg); m != nil {
		return Denial{Kind: "LimitRange", Message: strings.TrimSuffix(m[1], "]")}, true
	}
	return Denial{}, false
}

// denialOf is ParseDenial of an API error's message.
func denialOf(err error) (Denial, bool) {
	var status apierrors.APIStatus
	if err == nil || !errors.As(err, &status) {
		return Denial{}, false
	}
	return ParseDenial(status.Status().Message)
}

// By names who refused, in namespace ns, for a message.
func (d Denial) By(ns string) string {
	switch d.Kind {
	case "ValidatingAdmissionPolicy":
		if d.Binding != "" {
			return fmt.Sprintf("ValidatingAdmissionPolicy '%s' (binding '%s')", d.Name, d.Binding)
		}
		return fmt.Sprintf("ValidatingAdmissionPolicy '%s'", d.Name)
	case "PodSecurity":
		return fmt.Sprintf("Pod Security %q, enforced on namespace %s,", d.Name, ns)
	case "ResourceQuota":
		return fmt.Sprintf("ResourceQuota '%s' of namespace %s", d.Name, ns)
	}
	return "a LimitRange of namespace " + ns
}

// RefusedError: an admission controller refused what the plugin asked
// for. Its message is the one line the user reads.
type RefusedError struct {
	Denial
	line string
}

func (e *RefusedError) Error() string { return e.line }

// agentRefused turns a refusal of the agent container added to pod into
// one line: who refused, why, that nothing was added, and what still
// works; nil when err is no admission refusal.
func agentRefused(namespace, pod string, netAdmin bool, err error) error {
	d, ok := denialOf(err)
	if !ok {
		return nil
	}
	if d.Kind == "PodSecurity" && netAdmin {
		return &RefusedError{d, incomingForbiddenLine(namespace, d.Name)}
	}
	advice := "a run with no target (kubectl mirror run -n " + namespace + " -- CMD) still carries outgoing traffic and DNS where the namespace lets you create pods"
	switch d.Kind {
	case "PodSecurity":
		advice = "the agent copies the target container's security context; " + advice + ` (its pod passes "restricted")`
	case "ResourceQuota", "LimitRange":
		advice = "see kubectl describe " + strings.ToLower(d.Kind) + " -n " + namespace
	}
	return &RefusedError{d, fmt.Sprintf("%s refused the agent in pod/%s: %s; nothing was added to the pod; %s", d.By(namespace), pod, d.Message, advice)}
}

// agentPodRefused turns a refusal of a targetless run's agent pod (or its
// Job) in namespace into one line; nil when msg is no admission refusal.
func agentPodRefused(namespace, msg string) error {
	d, ok := ParseDenial(msg)
	if !ok {
		return nil
	}
	advice := "name a target instead: its agent is an ephemeral container in that pod"
	switch d.Kind {
	case "ResourceQuota":
		advice = "free some of the quota, or " + advice + ", counted in no quota"
	case "LimitRange":
		advice = "see kubectl describe limitrange -n " + namespace + " (the agent pod requests 10m CPU and 32Mi memory, limit 256Mi), or " + advice
	}
	return &RefusedError{d, fmt.Sprintf("%s refused the agent pod: %s; %s", d.By(namespace), d.Message, advice)}
}
