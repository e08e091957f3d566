package kube

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/imageids"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Agent container conventions. Ephemeral containers cannot carry labels, so
// the name prefix marks ours.
const (
	AgentNamePrefix = "mirror-agent-"
	agentPortBase   = 47000
	agentPortRange  = 1000
	// nonRootFallbackUID runs the agent for runAsNonRoot targets whose user is
	// set only by their image (65532: the "nonroot" user of distroless images).
	nonRootFallbackUID int64 = 65532
)

// Agent is one agent container of ours: what goes into the pod spec
// (AgentContainer), what is read back from a pod (findAgent) and what a
// session needs to reach it.
type Agent struct {
	Name       string
	Image      string
	PullPolicy corev1.PullPolicy
	Target     string // targetContainerName
	Port       int
	// Key is the public key of the user it serves (protocol.EncodeKey).
	// It is no secret: only the holder of the private key gets in.
	Key         string
	IdleTimeout time.Duration
	// NetAdmin: the agent may install redirects in the pod's network
	// namespace (incoming traffic). It then runs as root with NET_ADMIN added,
	// since a non-root user cannot use an added capability. A session without
	// incoming traffic never runs on an agent that holds it.
	NetAdmin bool
	Reused   bool // it was running already: it should answer at once
	// Identity is what the plugin signs when it proves the user's key:
	// protocol.AgentIdentity(the pod's UID, Name).
	Identity string

	state agentState // read back from the pod's status
}

// AgentContainer builds the ephemeral container. It runs as the target
// container runs (user, group, capabilities, seccomp profile): reading the
// target's /proc entries needs the same credentials, and copying them adds
// nothing the pod's policy did not already admit.
func AgentContainer(pod *corev1.Pod, s Agent) corev1.EphemeralContainer {
	f := false
	t := true
	sc := &corev1.SecurityContext{AllowPrivilegeEscalation: &f, ReadOnlyRootFilesystem: &t}
	var target *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == s.Target {
			target = &pod.Spec.Containers[i]
		}
	}
	if psc := pod.Spec.SecurityContext; psc != nil {
		sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
	}
	if target != nil && target.SecurityContext != nil {
		tsc := target.SecurityContext
		if tsc.RunAsUser != nil {
			sc.RunAsUser = tsc.RunAsUser
		}
		if tsc.RunAsGroup != nil {
			sc.RunAsGroup = tsc.RunAsGroup
		}
		if tsc.RunAsNonRoot != nil {
			sc.RunAsNonRoot = tsc.RunAsNonRoot
		}
		sc.Capabilities = tsc.Capabilities.DeepCopy()
		sc.SeccompProfile = tsc.SeccompProfile.DeepCopy()
	}
	if s.NetAdmin {
		root := int64(0)
		sc.RunAsUser, sc.RunAsNonRoot = &root, &f
		if sc.Capabilities == nil {
			sc.Capabilities = &corev1.Capabilities{}
		}
		sc.Capabilities.Add = append(sc.Capabilities.Add, "NET_ADMIN")
	}
	if sc.RunAsNonRoot != nil && *sc.RunAsNonRoot && sc.RunAsUser == nil {
		// The target's user comes from its image, which the spec does not show;
		// the agent image has no user of its own and would be refused as root.
		uid := nonRootFallbackUID
		sc.RunAsUser = &uid
	}
	return corev1.EphemeralContainer{
		TargetContainerName: s.Target,
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name:            s.Name,
			Image:           s.Image,
			ImagePullPolicy: s.PullPolicy,
			Args: protocol.AgentArgs{Port: s.Port, IdleTimeout: s.IdleTimeout, Key: s.Key,
				Identity: protocol.AgentIdentity(string(pod.UID), s.Name)}.Args(),
			SecurityContext:          sc,
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		},
	}
}

// AgentPort picks a loopback port for a new agent that no container of the
// pod declares and no other agent in it uses; r is a random number source.
func AgentPort(pod *corev1.Pod, r func(n int) int) int {
	used := map[int]bool{}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			used[int(p.ContainerPort)] = true
		}
	}
	for _, ec := range pod.Spec.EphemeralContainers {
		if port, ok := agentPortOf(ec); ok {
			used[port] = true
		}
	}
	start := r(agentPortRange)
	for i := 0; i < agentPortRange; i++ {
		p := agentPortBase + (start+i)%agentPortRange
		if !used[p] {
			return p
		}
	}
	return agentPortBase + start
}

// agentState is where an agent container is in its life.
type agentState int

const (
	agentGone     agentState = iota // exited, or cannot start
	agentStarting                   // in the spec, not running yet
	agentRunning
)

// findAgent returns the pod's usable agent for w: a running one first, else
// one that is still starting (another run of the same user just added it).
// Only a container exactly as this plugin would have made it is usable: one
// with the user's key but another command, image, mount or environment was
// put there by someone else, and skipped is told why.
func findAgent(pod *corev1.Pod, w Agent, trustedImageID string, skipped func(name, why string)) (Agent, bool) {
	var starting *Agent
	for _, ec := range pod.Spec.EphemeralContainers {
		a, ok := parseAgent(ec)
		if !ok || a.Target != w.Target || a.Key != w.Key || a.NetAdmin != w.NetAdmin {
			continue
		}
		if why := notOurs(pod, ec, a, w); why != "" {
			skipped(a.Name, why)
			continue
		}
		if id := imageIDOf(pod, a.Name); id != "" && trustedImageID != "" && !imageids.Same(id, trustedImageID) {
			skipped(a.Name, fmt.Sprintf("it runs image %s, where your agents ran %s", id, trustedImageID))
			continue
		}
		a.Identity = protocol.AgentIdentity(string(pod.UID), a.Name)
		a.state = stateOf(pod, a.Name)
		switch a.state {
		case agentRunning:
			return a, true
		case agentStarting:
			if starting == nil {
				starting = &a
			}
		}
	}
	if starting != nil {
		return *starting, true
	}
	return Agent{}, false
}

// notOurs says how ec differs from the container this plugin makes for w
// with ec's own name, port and idle timeout ("" when it does not). Fields the
// API server fills in by default are taken from ec.
func notOurs(pod *corev1.Pod, ec corev1.EphemeralContainer, a Agent, w Agent) string {
	if ec.Image != w.Image {
		return fmt.Sprintf("its image is %q, not %q", ec.Image, w.Image)
	}
	args, _ := protocol.ParseAgentArgs(ec.Args)
	mine := AgentContainer(pod, Agent{Name: a.Name, Image: w.Image, PullPolicy: ec.ImagePullPolicy, Target: w.Target,
		Port: args.Port, Key: w.Key, IdleTimeout: args.IdleTimeout, NetAdmin: w.NetAdmin})
	mine.TerminationMessagePath = ec.TerminationMessagePath
	if equality.Semantic.DeepEqual(mine, ec) {
		return ""
	}
	switch {
	case !slices.Equal(ec.Command, mine.Command):
		return fmt.Sprintf("its command is %q", ec.Command)
	case !slices.Equal(ec.Args, mine.Args):
		return fmt.Sprintf("its arguments are %q", ec.Args)
	}
	return "its container spec is not the one this plugin makes (environment, mounts or security context)"
}

func stateOf(pod *corev1.Pod, name string) agentState {
	for _, st := range pod.Status.EphemeralContainerStatuses {
		if st.Name != name {
			continue
		}
		switch {
		case st.State.Running != nil:
			return agentRunning
		case st.State.Terminated != nil:
			return agentGone
		case st.State.Waiting != nil && fatalWaiting(st.State.Waiting.Reason):
			return agentGone
		}
		return agentStarting
	}
	return agentStarting // the kubelet has not reported it yet
}

func parseAgent(ec corev1.EphemeralContainer) (Agent, bool) {
	if !strings.HasPrefix(ec.Name, AgentNamePrefix) {
		return Agent{}, false
	}
	a := Agent{Name: ec.Name, Image: ec.Image, Target: ec.TargetContainerName}
	args, err := protocol.ParseAgentArgs(ec.Args)
	if err != nil {
		return a, false // an agent of a release that spoke otherwise: not ours to reuse
	}
	a.Key, a.Port = args.Key, args.Port
	if sc := ec.SecurityContext; sc != nil && sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			a.NetAdmin = a.NetAdmin || c == "NET_ADMIN"
		}
	}
	return a, a.Key != ""
}

func agentPortOf(ec corev1.EphemeralContainer) (int, bool) {
	if !strings.HasPrefix(ec.Name, AgentNamePrefix) {
		return 0, false
	}
	args, err := protocol.ParseAgentArgs(ec.Args)
	return args.Port, err == nil
}

// agentName returns the container name for a new agent.
func agentName(suffix string) string { return fmt.Sprintf("%s%s", AgentNamePrefix, suffix) }

// AgentForKey names an agent container of the pod started for key ("" when
// the pod spec holds none). Only those allowed to patch
// pods/ephemeralcontainers put containers there, so the pod spec vouches
// for the key: the agents of the pod admit each other by it.
func AgentForKey(pod *corev1.Pod, key string) string {
	for _, ec := range pod.Spec.EphemeralContainers {
		if a, ok := parseAgent(ec); ok && a.Key == key {
			return a.Name
		}
	}
	return ""
}
