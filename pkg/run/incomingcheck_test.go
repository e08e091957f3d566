package run

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Incoming traffic is decided before any agent is added: refused in one
// line when asked for on a host-network pod (without the flag) or in a
// namespace whose Pod Security forbids NET_ADMIN; the unasked default is
// turned off with a note; a namespace the user may not read is tried.
func TestIncomingMode(t *testing.T) {
	ns := func(name, level string) *corev1.Namespace {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if level != "" {
			n.Labels = map[string]string{kube.PodSecurityEnforceLabel: level}
		}
		return n
	}
	target := func(namespace string, hostNetwork bool) kube.Target {
		return kube.Target{Namespace: namespace, Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "api-1", Namespace: namespace},
			Spec: corev1.PodSpec{HostNetwork: hostNetwork, NodeName: "node-a"}}}
	}
	cs := fake.NewSimpleClientset(ns("open", ""), ns("base", "baseline"), ns("strict", "restricted"), ns("priv", "privileged"))
	for _, tc := range []struct {
		name        string
		target      kube.Target
		mode        protocol.Mode
		asked, host bool
		want        protocol.Mode
		err, note   string
	}{
		{"plain pod, default", target("open", false), protocol.ModeMirror, false, false, protocol.ModeMirror, "", ""},
		{"plain pod, steal", target("open", false), protocol.ModeSteal, true, false, protocol.ModeSteal, "", ""},
		{"off stays off", target("base", true), IncomingOff, false, false, IncomingOff, "", ""},
		{"baseline, steal asked", target("base", false), protocol.ModeSteal, true, false, "", `namespace base enforces Pod Security "baseline:latest", which forbids the NET_ADMIN`, ""},
		{"restricted, mirror asked", target("strict", false), protocol.ModeMirror, true, false, "", `Pod Security "restricted:latest"`, ""},
		{"baseline, default", target("base", false), protocol.ModeMirror, false, false, IncomingOff, "", "incoming traffic, which needs NET_ADMIN, is off"},
		{"privileged", target("priv", false), protocol.ModeSteal, true, false, protocol.ModeSteal, "", ""},
		{"host network, steal asked", target("priv", true), protocol.ModeSteal, true, false, "", "pod/api-1 uses the node's network (hostNetwork: true): --incoming would redirect the port in node node-a's own network namespace", ""},
		{"host network, default", target("priv", true), protocol.ModeMirror, false, false, IncomingOff, "", "incoming traffic is off (--incoming-host-network turns it on)"},
		{"host network, accepted", target("priv", true), protocol.ModeSteal, true, true, protocol.ModeSteal, "", ""},
	} {
		var notes []string
		cfg := Config{Incoming: tc.mode, IncomingAsked: tc.asked, IncomingHostNetwork: tc.host, Progress: func(l string) { notes = append(notes, l) }}
		got, err := incomingMode(context.Background(), cfg, cs, tc.target)
		switch {
		case tc.err != "":
			var refused *kube.RefusedError
			isPodSecurity := strings.Contains(tc.err, "Pod Security")
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "\n") || (isPodSecurity && !errors.As(err, &refused)) {
				t.Errorf("%s: got %v, want one line with %q", tc.name, err, tc.err)
			}
			if !strings.Contains(err.Error(), "without --incoming") {
				t.Errorf("%s: %q does not say what still works", tc.name, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("%s: got %q %v, want %q", tc.name, got, err, tc.want)
		case tc.note != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.note)):
			t.Errorf("%s: notes %q, want %q", tc.name, notes, tc.note)
		case tc.note == "" && len(notes) != 0:
			t.Errorf("%s: unexpected notes %q", tc.name, notes)
		}
	}
	// A namespace the user may not read: the agent is tried, and admission
	// has the last word (its refusal is read by kube.agentRefused).
	cs.PrependReactor("get", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(corev1.Resource("namespaces"), "base", nil)
	})
	if got, err := incomingMode(context.Background(), Config{Incoming: protocol.ModeSteal, IncomingAsked: true}, cs, target("base", false)); err != nil || got != protocol.ModeSteal {
		t.Errorf("unreadable namespace: got %q %v, want steal tried", got, err)
	}
}
