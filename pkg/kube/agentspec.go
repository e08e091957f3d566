package kube

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Agent container conventions. Ephemeral containers cannot carry labels, so
// the name prefix and the secret's variable mark ours.
const (
	AgentNamePrefix = "mirror-agent-"
	AgentSecretEnv  = "MIRROR_AGENT_SECRET"
	agentPortBase   = 47000
	agentPortRange  = 1000
	// nonRootFallbackUID runs the agent for runAsNonRoot targets whose user is
	// set only by their image (65532: the "nonroot" user of distroless images).
	nonRootFallbackUID int64 = 65532
)

// AgentSpec is everything that goes into the agent's ephemeral container.
type AgentSpec struct {
	Name        string
	Image       string
	PullPolicy  corev1.PullPolicy
	Target      string // targetContainerName
	Port        int
	Secret      string
	IdleTimeout time.Duration
	// NetAdmin: the agent may install redirects in the pod's network
	// namespace (incoming traffic). It then runs as root with NET_ADMIN added,
	// since a non-root user cannot use an added capability.
	NetAdmin bool
}

// AgentContainer builds the ephemeral container. It runs as the target
// container runs (user, group, capabilities, seccomp profile): reading the
// target's /proc entries needs the same credentials, and copying them adds
// nothing the pod's policy did not already admit.
func AgentContainer(pod *corev1.Pod, s AgentSpec) corev1.EphemeralContainer {
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
			Args: []string{
				"--listen=127.0.0.1:" + strconv.Itoa(s.Port),
				"--idle-timeout=" + s.IdleTimeout.String(),
			},
			Env:                      []corev1.EnvVar{{Name: AgentSecretEnv, Value: s.Secret}},
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

// runningAgent is an agent container of ours and what the plugin needs to reach it.
type runningAgent struct {
	Name, Image, Target, Secret string
	Port                        int
	NetAdmin                    bool
}

// FindRunningAgent returns a live agent for the target container with the
// wanted image and capability tier, if the pod has one: a session without
// incoming traffic never runs on an agent that holds NET_ADMIN.
func FindRunningAgent(pod *corev1.Pod, target, image string, needNetAdmin bool) (runningAgent, bool) {
	running := map[string]bool{}
	for _, st := range pod.Status.EphemeralContainerStatuses {
		running[st.Name] = st.State.Running != nil
	}
	for _, ec := range pod.Spec.EphemeralContainers {
		a, ok := parseAgent(ec)
		if ok && running[a.Name] && a.Target == target && a.Image == image && a.NetAdmin == needNetAdmin {
			return a, true
		}
	}
	return runningAgent{}, false
}

func parseAgent(ec corev1.EphemeralContainer) (runningAgent, bool) {
	if !strings.HasPrefix(ec.Name, AgentNamePrefix) {
		return runningAgent{}, false
	}
	a := runningAgent{Name: ec.Name, Image: ec.Image, Target: ec.TargetContainerName}
	for _, e := range ec.Env {
		if e.Name == AgentSecretEnv {
			a.Secret = e.Value
		}
	}
	port, ok := agentPortOf(ec)
	a.Port = port
	if sc := ec.SecurityContext; sc != nil && sc.Capabilities != nil {
		for _, c := range sc.Capabilities.Add {
			a.NetAdmin = a.NetAdmin || c == "NET_ADMIN"
		}
	}
	return a, ok && a.Secret != ""
}

func agentPortOf(ec corev1.EphemeralContainer) (int, bool) {
	if !strings.HasPrefix(ec.Name, AgentNamePrefix) {
		return 0, false
	}
	for _, arg := range ec.Args {
		if addr, ok := strings.CutPrefix(arg, "--listen="); ok {
			_, port, found := strings.Cut(addr, ":")
			if n, err := strconv.Atoi(port); found && err == nil {
				return n, true
			}
		}
	}
	return 0, false
}

// agentName returns the container name for a new agent.
func agentName(suffix string) string { return fmt.Sprintf("%s%s", AgentNamePrefix, suffix) }
