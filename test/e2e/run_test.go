//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

func TestRunSeesThePodsEnvironment(t *testing.T) {
	cs := clientset(t)
	script := `echo "$LITERAL $FROM_CONFIGMAP $POD_NAME"`
	for _, target := range [][]string{{"deploy/echo"}, {"deploy", "echo"}, {"service/echo"}, {"-n", "default", "deployment/echo"}} {
		out, errOut, code := plugin(t, append(append([]string{"run"}, target...), "--", "sh", "-c", script)...).run()
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", target, code, errOut)
		}
		fields := strings.Fields(out)
		if len(fields) != 3 || fields[0] != "literal-value" || fields[1] != "configmap-value" || !strings.HasPrefix(fields[2], "echo-") {
			t.Fatalf("%v: got %q", target, out)
		}
		pod, err := cs.CoreV1().Pods("default").Get(context.Background(), fields[2], metav1.GetOptions{})
		if err != nil || !strings.Contains(errOut, "pod/"+pod.Name) {
			t.Fatalf("%v: POD_NAME %q is not the pod the plugin named: %v\n%s", target, fields[2], err, errOut)
		}
	}
}

func TestRunPodFormAndContainerFlag(t *testing.T) {
	pod := firstEchoPod(t)
	out, errOut, code := plugin(t, "run", "pod/"+pod, "-c", "sidecar", "--", "sh", "-c", `echo "$SIDECAR_ONLY|$LITERAL"`).run()
	if code != 0 || out != "sidecar-value|\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	out, _, code = plugin(t, "run", "pod/"+pod, "--env", "LITERAL=overridden", "--env-exclude", "FROM_*", "--", "sh", "-c", `echo "$LITERAL|$FROM_CONFIGMAP|$HOME"`).run()
	if code != 0 || out != "overridden||"+os.Getenv("HOME")+"\n" {
		t.Fatalf("overrides: exit %d, stdout %q", code, out)
	}
}

func TestRunPassesExitCodesAndSignals(t *testing.T) {
	if _, errOut, code := plugin(t, "run", "deploy/echo", "--", "sh", "-c", "exit 7").run(); code != 7 {
		t.Fatalf("exit %d, want 7: %s", code, errOut)
	}
	_, errOut, code := plugin(t, "run", "deploy/echo", "--", "sh", "-c", "kill -KILL $$").run()
	if code != 128+9 || !strings.Contains(errOut, "killed by SIGKILL") {
		t.Fatalf("exit %d, want 137 and the signal named: %s", code, errOut)
	}
}

// ephemeralNames lists the ephemeral containers of a pod in default.
func ephemeralNames(t *testing.T, pod string) []string {
	t.Helper()
	return ephemeralIn(t, "default", pod)
}

func agentState(t *testing.T, pod, name string) corev1.ContainerState {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Status.EphemeralContainerStatuses {
		if st.Name == name {
			return st.State
		}
	}
	return corev1.ContainerState{}
}

func TestAgentIsReusedThenExitsWhenIdle(t *testing.T) {
	// A pod of its own: a live agent left by another test would be reused.
	scratchPod(t, "idle")
	before := len(ephemeralNames(t, "idle"))
	_, errOut, code := plugin(t, "run", "pod/idle", "--agent-idle-timeout=4s", "--", "true").run()
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, errOut)
	}
	names := ephemeralNames(t, "idle")
	if len(names) != before+1 {
		t.Fatalf("first run added %d ephemeral containers, want 1", len(names)-before)
	}
	agent := names[len(names)-1]
	_, errOut, code = plugin(t, "run", "pod/idle", "--agent-idle-timeout=4s", "--", "true").run()
	if code != 0 || !strings.Contains(errOut, "reusing agent "+agent) {
		t.Fatalf("second run: exit %d, want reuse of %s: %s", code, agent, errOut)
	}
	if n := len(ephemeralNames(t, "idle")); n != before+1 {
		t.Fatalf("second run grew the pod's ephemeral containers to %d", n-before)
	}
	testenv.Eventually(t, 60*time.Second, func() bool { return agentState(t, "idle", agent).Terminated != nil },
		func() string {
			return fmt.Sprintf("agent %s still %+v a minute after its 4 s idle timeout", agent, agentState(t, "idle", agent))
		})
	if st := agentState(t, "idle", agent).Terminated; st.ExitCode != 0 {
		t.Fatalf("idle agent exited with %d (%s)", st.ExitCode, st.Reason)
	}
}

func TestRunErrorsAreOneClearLine(t *testing.T) {
	kc := kubeconfig(t)
	limited := limitedKubeconfig(t)
	cases := []struct {
		name string
		kc   string
		args []string
		want string
	}{
		{"unknown target", kc, []string{"deploy/nope"}, `deploy/nope not found in namespace "default"`},
		{"unknown namespace", kc, []string{"-n", "nope", "deploy/echo"}, `namespace "nope" not found`},
		{"unknown kind", kc, []string{"frobs/x"}, `doesn't have a resource type "frobs"`},
		{"no Ready pod", kc, []string{"deploy/notready"}, "no Ready pod"},
		{"no permission for ephemeral containers", limited, []string{"deploy/echo"}, "pods/ephemeralcontainers"},
		{"agent image missing", kc, []string{"pod/toolbox", "--agent-image=mirror.test/no-such-agent:v0"}, "pulled with the pod's own imagePullSecrets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			out, errOut, code := plugin(t, append(append([]string{"run"}, tc.args...), "--", "echo", "SHOULD-NOT-RUN")...).kubeconfig(tc.kc).run()
			if code == 0 || strings.Contains(out, "SHOULD-NOT-RUN") {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			lines := strings.Split(strings.TrimSpace(errOut), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "error: ") || !strings.Contains(last, tc.want) || strings.Contains(errOut, "goroutine ") {
				t.Fatalf("want one error line containing %q, got:\n%s", tc.want, errOut)
			}
			if time.Since(start) > 70*time.Second {
				t.Fatalf("took %s: longer than the startup timeout", time.Since(start))
			}
		})
	}
}

// limitedKubeconfig is a kubeconfig for a ServiceAccount that may read pods and
// port-forward but not add ephemeral containers.
func limitedKubeconfig(t *testing.T) string {
	t.Helper()
	manifest, err := os.ReadFile(filepath.Join(repoRoot(t), "test", "e2e", "testdata", "limited-user.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tokenKubeconfig(t, "mirror-limited", string(manifest))
}

// tokenKubeconfig applies manifest and returns a kubeconfig for its
// ServiceAccount sa in the default namespace.
func tokenKubeconfig(t *testing.T, sa, manifest string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), sa+".yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl(t, "apply", "-f", path)
	token := strings.TrimSpace(kubectl(t, "create", "token", sa, "--duration=1h"))
	admin, err := clientcmd.LoadFromFile(kubeconfig(t))
	if err != nil {
		t.Fatal(err)
	}
	cluster := admin.Clusters[admin.Contexts[admin.CurrentContext].Cluster]
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = cluster
	cfg.AuthInfos["limited"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["limited"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "limited", Namespace: "default"}
	cfg.CurrentContext = "limited"
	path = filepath.Join(t.TempDir(), sa+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// The program's host name is the pod's: uname (hostname(1), gethostname),
// /proc/sys/kernel/hostname (Go's os.Hostname), and a lookup of that name
// gives the pod's IP through the pod's /etc/hosts.
func TestHostnameIsThePods(t *testing.T) {
	target, _ := echoPods(t)
	script := `uname -n; cat /proc/sys/kernel/hostname; python3 -c "import socket; n = socket.gethostname(); print(n, socket.gethostbyname(n))"`
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", "sh", "-c", script).run()
	want := target.name + "\n" + target.name + "\n" + target.name + " " + target.ip + "\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, stdout %q, want %q\n%s", code, out, want, errOut)
	}
}

// --env-file writes the pod's variables for an IDE or docker (and with no
// command that is all); --env-import=false takes none of them.
func TestEnvFileAndNoImport(t *testing.T) {
	target, _ := echoPods(t)
	file := filepath.Join(t.TempDir(), "pod.env")
	_, errOut, code := plugin(t, "run", "pod/"+target.name, "--env-file", file, "--env-exclude", "FROM_*").run()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(file)
	fi, _ := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("env file: %v, mode %v", err, fi.Mode())
	}
	env := string(b)
	for _, want := range []string{"POD_NAME=\"" + target.name + "\"\n", "LITERAL=\"literal-value\"\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("env file lacks %q:\n%s", want, env)
		}
	}
	if strings.Contains(env, "FROM_CONFIGMAP") || strings.Contains(env, "\nPATH=") || strings.HasPrefix(env, "PATH=") {
		t.Errorf("env file holds excluded or local variables:\n%s", env)
	}
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--env-import=false", "--env", "A=1", "--", "sh", "-c", `echo "[$LITERAL][$A]"`).run()
	if code != 0 || out != "[][1]\n" {
		t.Fatalf("--env-import=false: exit %d, stdout %q\n%s", code, out, errOut)
	}
}

// A reader of the plugin's output that goes away (`... 2>&1 | head -1`)
// does not kill the plugin: its later lines fail with EPIPE, and it ends its
// session as usual, with the program's exit code.
func TestPluginOutlivesAClosedOutputPipe(t *testing.T) {
	target, _ := echoPods(t)
	p := plugin(t, "run", "pod/"+target.name, "-v", "1", "--", "sh", "-c", "sleep 1; exit 7")
	ctx, cancel := context.WithTimeout(context.Background(), p.limit)
	defer cancel()
	cmd := p.command(ctx)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	line := make([]byte, 1)
	if _, err := r.Read(line); err != nil { // its first line, then the reader is gone
		t.Fatal(err)
	}
	r.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Fatalf("want the program's exit code 7 once the output pipe closed, got %v", err)
	}
}
