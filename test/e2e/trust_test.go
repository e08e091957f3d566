//go:build e2e

package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/userkey"
)

// A process in another container of the target pod (the busybox sidecar's
// network namespace, as an unprivileged user) finds the routing agent's
// socket and claims the stolen port: a catch-all filtered join, a takeover
// and a mirror, each with a key of its own. All are refused, 300 connections
// that never claim are closed, and the user's requests all reach the user.
func TestPodProcessesCannotClaimThroughTheRouter(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	alice := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--http-filter", "header:X-User: ^alice$",
		"--", testProgs.httpserve, "8080").serving()
	defer alice.stop(t)
	attacker, err := testbin.Path("peerclaim")
	if err != nil {
		t.Fatal(err)
	}
	pid := containerPID(t, target.name, "sidecar")
	pod, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), target.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n",
		"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", attacker, "8080", string(pod.UID)).CombinedOutput()
	report := string(out)
	t.Logf("attacker:\n%s", report)
	if err != nil {
		t.Fatalf("peerclaim: %v", err)
	}
	if strings.Contains(report, "sockets: 0") {
		t.Fatal("the attacker found no agent socket: the test proves nothing")
	}
	for _, kind := range []string{"join", "takeover", "mirror"} {
		if !strings.Contains(report, "claim "+kind+": refused") {
			t.Errorf("the %s claim was not refused", kind)
		}
	}
	if strings.Contains(report, "ACCEPTED") {
		t.Error("a claim from a process of the pod was accepted")
	}
	if !strings.Contains(report, "half-open: 300 of 300 closed") {
		t.Error("half-open claims were held")
	}
	out2 := fromToolbox(t, "for i in 1 2 3 4 5; do timeout 5 wget -qO- --header 'X-User: alice' http://"+target.ip+":8080/alice-$i; echo; done")
	if got := strings.Count(out2, `"local":true`); got != 5 {
		t.Fatalf("%d of alice's 5 requests reached her program:\n%s\n%s", got, out2, alice.err())
	}
	if out := fromToolbox(t, "timeout 5 wget -qO- --header 'X-User: mallory' http://"+target.ip+":8080/other"); !strings.Contains(out, `"pod":"`+target.name) {
		t.Fatalf("a request matching no filter did not reach the pod's app: %s", out)
	}
}

// Someone who may patch pods/ephemeralcontainers plants a container that
// carries the victim's key (public: it is in every pod spec holding the
// victim's agent), the real image and arguments, and a command of its own.
// The victim's plugin does not reuse it (and says why at -v 1), starts its
// own agent, and never sends the planted one a byte.
func TestPlantedAgentIsNotReused(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	home := t.TempDir()
	key, err := userkey.LoadOrCreate(filepath.Join(home, "kubectl-mirror", userkey.FileName))
	if err != nil {
		t.Fatal(err)
	}
	// The image holds only the agent: the planted command runs it too,
	// so the container runs and answers, as an attacker's would.
	name, _ := plantAgent(t, target.name, "planted", pluginAgentImage(t), corev1.PullIfNotPresent, key,
		func(ec *corev1.EphemeralContainer) { ec.Command = []string{"/mirror-agent"} })

	out, errOut, code := plugin(t, "run", "-v", "1", "pod/"+target.name, "--", netprobe, "http", "http://echo/planted", "1").
		env("XDG_CONFIG_HOME=" + home).timeout(2 * time.Minute).run()
	if code != 0 || !strings.Contains(out, `"path":"/planted"`) {
		t.Fatalf("the victim's run: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "not reusing "+name) || !strings.Contains(errOut, "its command is") || !strings.Contains(errOut, "starting agent") {
		t.Fatalf("the plugin did not say it passed the planted container over and started its own:\n%s", errOut)
	}
	logs := kubectl(t, "logs", target.name, "-c", name)
	if strings.Contains(logs, "connection refused") || strings.Contains(logs, "session started") {
		t.Fatalf("the planted agent was sent bytes:\n%s", logs)
	}
}

// pluginAgentImage is the agent image the built plugin names.
func pluginAgentImage(t *testing.T) string {
	t.Helper()
	out, _, code := plugin(t, "version").onHost().timeout(time.Minute).run()
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "agent image: "); ok && code == 0 {
			return s
		}
	}
	t.Fatalf("kubectl-mirror version: exit %d, %q", code, out)
	return ""
}

// A relay between the plugin and a real agent of the same user: the
// plugin's proof is made for the agent it believes it reaches (a planted
// one, here by name in another pod), and the real agent refuses it. The
// same connection with the real agent's identity is accepted, so the
// refusal is the binding's doing.
func TestProofRelayedToAnotherAgentIsRefused(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, other := echoPods(t)
	if out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "http", "http://echo/warm", "1").timeout(2 * time.Minute).run(); code != 0 {
		t.Fatalf("a run to start the user's agent: exit %d\n%s%s", code, out, errOut)
	}
	path, err := userkey.DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	key, err := userkey.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, cs := clientFor(t, kubeconfig(t))
	pod, err := cs.CoreV1().Pods("default").Get(context.Background(), target.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	otherPod, err := cs.CoreV1().Pods("default").Get(context.Background(), other.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	agent, port := runningAgentOf(pod, protocol.EncodeKey(key.Public().(ed25519.PublicKey)))
	if agent == "" {
		t.Fatal("the user's agent is not running in the pod")
	}
	try := func(identity string) error {
		conn, err := kube.DialPod(cfg, cs, "default", target.name, port)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return protocol.ClientAuth(conn, key, identity)
	}
	if err := try(protocol.AgentIdentity(string(otherPod.UID), "mirror-agent-planted")); !errors.Is(err, protocol.ErrNotAuthorized) {
		t.Fatalf("a proof made for another agent: %v, want ErrNotAuthorized", err)
	}
	if err := try(protocol.AgentIdentity(string(pod.UID), agent)); err != nil {
		t.Fatalf("the same user's proof for this agent: %v", err)
	}
}

// runningAgentOf is the running agent container of the pod for key, and its port.
func runningAgentOf(pod *corev1.Pod, key string) (string, int) {
	running := map[string]bool{}
	for _, st := range pod.Status.EphemeralContainerStatuses {
		running[st.Name] = st.State.Running != nil
	}
	for _, ec := range pod.Spec.EphemeralContainers {
		args, err := protocol.ParseAgentArgs(ec.Args)
		if err == nil && running[ec.Name] && args.Key == key && len(ec.Command) == 0 {
			return ec.Name, args.Port
		}
	}
	return "", 0
}

// An agent container exactly as the plugin makes it, under the image name
// the user's agents ran, but running another image (the tag was moved and
// the container pulls Always): the plugin remembers the image its own agent
// ran and does not reuse this one.
func TestAgentRunningAnotherImageUnderTheSameNameIsNotReused(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	home := t.TempDir()
	img := agentImage(t)
	tag := openRegistry + "/kubectl-mirror/mirror-agent:e2e-moved-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	pushVariant(t, img, tag)
	run := func(args ...string) (string, string) {
		out, errOut, code := plugin(t, append([]string{"run", "-v", "1", "--agent-image", tag, "--agent-idle-timeout", "3s", "pod/" + target.name, "--"}, args...)...).
			env("XDG_CONFIG_HOME=" + home).timeout(2 * time.Minute).run()
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		return out, errOut
	}
	run(netprobe, "http", "http://echo/first", "1") // the user's agent runs the first image; remembered
	pushVariant(t, img, tag)                        // the tag moves
	key, err := userkey.Load(filepath.Join(home, "kubectl-mirror", userkey.FileName))
	if err != nil {
		t.Fatal(err)
	}
	name, port := plantAgent(t, target.name, "moved", tag, corev1.PullAlways, key, func(*corev1.EphemeralContainer) {})
	cs := clientset(t)
	// Only the moved one may be left running: the user's own exits idle.
	testenv.Eventually(t, 90*time.Second, func() bool {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), target.name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		_, running := runningAgentOf(p, protocol.EncodeKey(key.Public().(ed25519.PublicKey)))
		return running == port
	}, func() string { return "the moved container did not run alone" })
	_, errOut := run(netprobe, "http", "http://echo/second", "1")
	if !strings.Contains(errOut, "not reusing "+name) || !strings.Contains(errOut, "where your agents ran") || strings.Contains(errOut, "reusing agent "+name) {
		t.Fatalf("the agent running another image was not passed over:\n%s", errOut)
	}
}

// plantAgent adds to pod, as someone allowed to patch its ephemeral
// containers would, a container exactly as the plugin makes one for key
// except for what edit changes, and waits until it runs. It returns the
// container's name and port.
func plantAgent(t *testing.T, pod, kind, image string, pull corev1.PullPolicy, key ed25519.PrivateKey, edit func(*corev1.EphemeralContainer)) (string, int) {
	t.Helper()
	cs := clientset(t)
	p, err := cs.CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := "mirror-agent-" + kind + strconv.FormatInt(time.Now().UnixNano()%100000, 10)
	port := kube.AgentPort(p, rand.IntN)
	ec := kube.AgentContainer(p, kube.Agent{Name: name, Image: image, PullPolicy: pull, Target: "echo", Port: port,
		Key: protocol.EncodeKey(key.Public().(ed25519.PublicKey)), IdleTimeout: 2 * time.Minute})
	edit(&ec)
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"ephemeralContainers": []corev1.EphemeralContainer{ec}}})
	if _, err := cs.CoreV1().Pods("default").Patch(context.Background(), pod, types.StrategicMergePatchType, patch,
		metav1.PatchOptions{}, "ephemeralcontainers"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		p, err := cs.CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, st := range p.Status.EphemeralContainerStatuses {
			if st.Name == name && st.State.Running != nil {
				return true
			}
		}
		return false
	}, func() string { return "the planted container " + name + " did not run" })
	return name, port
}
