package run

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// incomingMode decides, before any agent is added, whether the target's
// pods may get incoming traffic. Two cases would put a redirect where it
// must not go, or add an agent that admission refuses anyway:
//   - a pod on the node's network (hostNetwork): the redirect would take
//     the port in the node's network namespace, for every host-network
//     process on the node, unless the user accepts that by name
//     (IncomingHostNetwork);
//   - a namespace whose Pod Security level forbids NET_ADMIN.
//
// Incoming traffic the user asked for is refused in one line; the default
// (mirror, not asked) is turned off with a note, so a plain run works.
func incomingMode(ctx context.Context, cfg Config, cs kubernetes.Interface, t kube.Target) (protocol.Mode, error) {
	if cfg.Incoming == IncomingOff || t.Pod == nil {
		return cfg.Incoming, nil
	}
	if t.Pod.Spec.HostNetwork && !cfg.IncomingHostNetwork {
		if cfg.IncomingAsked {
			return "", fmt.Errorf("pod/%s uses the node's network (hostNetwork: true): --incoming would redirect the port in node %s's own network namespace, "+
				"taking it from every host-network process there; pass --incoming-host-network to accept that, or run without --incoming (outgoing traffic, env and files work)",
				t.Pod.Name, nodeOf(t))
		}
		progress(cfg, fmt.Sprintf("pod/%s uses the node's network: incoming traffic is off (--incoming-host-network turns it on)", t.Pod.Name))
		return IncomingOff, nil
	}
	level, known := kube.EnforcedPodSecurity(ctx, cs, t.Namespace)
	if known && kube.ForbidsNetAdmin(level) {
		if cfg.IncomingAsked {
			return "", kube.IncomingForbidden(t.Namespace, level)
		}
		progress(cfg, fmt.Sprintf("namespace %s enforces Pod Security %q: incoming traffic, which needs NET_ADMIN, is off", t.Namespace, level))
		return IncomingOff, nil
	}
	return cfg.Incoming, nil
}

func nodeOf(t kube.Target) string {
	if t.Pod.Spec.NodeName != "" {
		return t.Pod.Spec.NodeName
	}
	return "(its node)"
}
