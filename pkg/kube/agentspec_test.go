package kube

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func TestAgentContainer(t *testing.T) {
	spec := Agent{Name: "mirror-agent-abc123", Image: "agent:v1", PullPolicy: corev1.PullIfNotPresent,
		Target: "app", Port: 47123, Key: "ed25519:alice", IdleTimeout: 5 * time.Minute}
	base := corev1.EphemeralContainer{
		TargetContainerName: "app",
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{
			Name: "mirror-agent-abc123", Image: "agent:v1", ImagePullPolicy: corev1.PullIfNotPresent,
			Args:                     []string{"--listen=127.0.0.1:47123", "--idle-timeout=5m0s", "--authorized-key=ed25519:alice", "--identity=/mirror-agent-abc123"},
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		},
	}
	withSC := func(sc corev1.SecurityContext) corev1.EphemeralContainer {
		c := base
		sc.AllowPrivilegeEscalation, sc.ReadOnlyRootFilesystem = ptr(false), ptr(true)
		c.SecurityContext = &sc
		return c
	}
	restricted := &corev1.SecurityContext{
		RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000)),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	cases := []struct {
		name string
		pod  corev1.Pod
		want corev1.EphemeralContainer
	}{
		{"plain pod: image defaults, no capability added", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}},
			withSC(corev1.SecurityContext{})},
		{"pod-level user is copied", corev1.Pod{Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr(int64(42)), RunAsGroup: ptr(int64(43)), RunAsNonRoot: ptr(true)},
			Containers:      []corev1.Container{{Name: "app"}}}},
			withSC(corev1.SecurityContext{RunAsUser: ptr(int64(42)), RunAsGroup: ptr(int64(43)), RunAsNonRoot: ptr(true)})},
		{"runAsNonRoot with the user only in the image: the nonroot uid", corev1.Pod{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr(true)}}}}},
			withSC(corev1.SecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(65532))})},
		{"restricted target: same user, caps dropped, seccomp", corev1.Pod{Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr(int64(42))},
			Containers:      []corev1.Container{{Name: "other"}, {Name: "app", SecurityContext: restricted}}}},
			withSC(corev1.SecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000)),
				Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}})},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, AgentContainer(&tc.pod, spec)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestFindAgentAndPort(t *testing.T) {
	base := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "uid-1"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 47000}}}, {Name: "side"}}}}
	// agent is the container this plugin makes (with the API server's default filled in).
	agent := func(name, target, image, port, key string) corev1.EphemeralContainer {
		p, _ := strconv.Atoi(port)
		ec := AgentContainer(base, Agent{Name: name, Target: target, Image: image, Port: p, Key: key, IdleTimeout: time.Minute})
		ec.TerminationMessagePath = "/dev/termination-log"
		return ec
	}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	done := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}
	pod := base.DeepCopy()
	pod.Spec = corev1.PodSpec{
		Containers: base.Spec.Containers,
		EphemeralContainers: []corev1.EphemeralContainer{
			agent("mirror-agent-old", "app", "agent:v1", "47001", "ed25519:alice"),
			agent("mirror-agent-bob", "app", "agent:v1", "47005", "ed25519:bob"),
			agent("mirror-agent-new", "app", "agent:v1", "47002", "ed25519:alice"),
			agent("mirror-agent-v0", "app", "agent:v0", "47003", "ed25519:alice"),
			agent("debugger", "app", "agent:v1", "47004", "ed25519:alice"),
		},
	}
	pod.Status = corev1.PodStatus{EphemeralContainerStatuses: []corev1.ContainerStatus{
		{Name: "mirror-agent-old", State: done}, {Name: "mirror-agent-new", State: running},
		{Name: "mirror-agent-bob", State: running},
		{Name: "mirror-agent-v0", State: running}, {Name: "debugger", State: running},
	}}
	alice := Agent{Target: "app", Image: "agent:v1", Key: "ed25519:alice"}
	got, ok := findAgent(pod, alice, "", noSkip)
	want := Agent{Name: "mirror-agent-new", Image: "agent:v1", Target: "app", Key: "ed25519:alice", Port: 47002, state: agentRunning,
		Identity: "uid-1/mirror-agent-new"}
	if !ok || got != want {
		t.Fatalf("got %+v %v, want %+v", got, ok, want)
	}
	if got, ok := findAgent(pod, Agent{Target: "app", Image: "agent:v1", Key: "ed25519:carol"}, "", noSkip); ok {
		t.Fatalf("another user's agent must not be used: %+v", got)
	}
	for name, w := range map[string]Agent{
		"another container": {Target: "side", Image: "agent:v1", Key: "ed25519:alice"},
		"another image":     {Target: "app", Image: "agent:v2", Key: "ed25519:alice"},
		"incoming traffic":  {Target: "app", Image: "agent:v1", Key: "ed25519:alice", NetAdmin: true},
	} {
		if got, ok := findAgent(pod, w, "", noSkip); ok {
			t.Errorf("%s: must not reuse %+v", name, got)
		}
	}
	admin := AgentContainer(base, Agent{Name: "mirror-agent-admin", Target: "app", Image: "agent:v1", Port: 47005, Key: "ed25519:alice", NetAdmin: true})
	withAdmin := pod.DeepCopy()
	withAdmin.Spec.EphemeralContainers = []corev1.EphemeralContainer{admin}
	withAdmin.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "mirror-agent-admin", State: running}}
	if got, ok := findAgent(withAdmin, Agent{Target: "app", Image: "agent:v1", Key: "ed25519:alice", NetAdmin: true}, "", noSkip); !ok || got.Name != "mirror-agent-admin" {
		t.Fatalf("the agent with NET_ADMIN was not found for incoming traffic: %+v", got)
	}
	if _, ok := findAgent(withAdmin, alice, "", noSkip); ok {
		t.Fatal("a session without incoming traffic must not run on an agent holding NET_ADMIN")
	}
	// An agent another run just added (no status yet) is waited for, not duplicated.
	starting := pod.DeepCopy()
	starting.Spec.EphemeralContainers = append(starting.Spec.EphemeralContainers, agent("mirror-agent-fresh", "side", "agent:v1", "47006", "ed25519:alice"))
	if got, ok := findAgent(starting, Agent{Target: "side", Image: "agent:v1", Key: "ed25519:alice"}, "", noSkip); !ok || got.state != agentStarting || got.Name != "mirror-agent-fresh" {
		t.Fatalf("starting agent: %+v %v", got, ok)
	}
	// Ports 47000 (declared), 47001-47003 and 47005 (agents) are taken; 47004
	// belongs to a container that is not ours and is not counted.
	if p := AgentPort(pod, func(int) int { return 0 }); p != 47004 {
		t.Fatalf("AgentPort = %d, want 47004", p)
	}
}

func noSkip(string, string) {}

// A container that carries the user's key, the real image and arguments but
// differs in anything else was planted by someone else: it is never reused,
// and the reason is told.
func TestFindAgentSkipsPlantedContainers(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: "uid-1"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	w := Agent{Target: "app", Image: "agent:v1", Key: "ed25519:alice"}
	real := AgentContainer(pod, Agent{Name: "mirror-agent-planted", Target: "app", Image: "agent:v1", Port: 47001, Key: "ed25519:alice", IdleTimeout: time.Minute})
	for name, plant := range map[string]func(ec *corev1.EphemeralContainer){
		"command": func(ec *corev1.EphemeralContainer) { ec.Command = []string{"/evil"} },
		"mount": func(ec *corev1.EphemeralContainer) {
			ec.VolumeMounts = []corev1.VolumeMount{{Name: "shared", MountPath: "/bin"}}
		},
		"env":      func(ec *corev1.EphemeralContainer) { ec.Env = []corev1.EnvVar{{Name: "LD_PRELOAD", Value: "/x.so"}} },
		"identity": func(ec *corev1.EphemeralContainer) { ec.Args[len(ec.Args)-1] = "--identity=uid-1/mirror-agent-real" },
		"privileged": func(ec *corev1.EphemeralContainer) {
			yes := true
			ec.SecurityContext.Privileged = &yes
		},
		"working dir": func(ec *corev1.EphemeralContainer) { ec.WorkingDir = "/tmp" },
	} {
		ec := *real.DeepCopy()
		plant(&ec)
		p := pod.DeepCopy()
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{ec}
		p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: ec.Name, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		var told string
		if got, ok := findAgent(p, w, "", func(n, why string) { told = n + ": " + why }); ok {
			t.Errorf("%s: a planted container was reused: %+v", name, got)
		}
		if !strings.HasPrefix(told, "mirror-agent-planted: ") {
			t.Errorf("%s: not told why: %q", name, told)
		}
	}
	// The same container untouched is ours.
	p := pod.DeepCopy()
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{real}
	p.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: real.Name, ImageID: "registry.test/agent@sha256:aaa",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if _, ok := findAgent(p, w, "sha256:aaa", func(n, why string) { t.Errorf("%s skipped: %s", n, why) }); !ok {
		t.Fatal("the plugin's own container was not found")
	}
	// Running another image under the same name than the user's agents
	// ran (a tag moved): not reused.
	var told string
	if _, ok := findAgent(p, w, "sha256:bbb", func(n, why string) { told = why }); ok || !strings.Contains(told, "sha256:bbb") {
		t.Fatalf("an agent running another image was reused (told %q)", told)
	}
}
