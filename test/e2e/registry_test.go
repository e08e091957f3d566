//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The harness's registries (test/cluster/config.sh).
const (
	openRegistry = "10.250.0.1:5000"
	authRegistry = "10.250.0.1:5001"
	authUser     = "mirror-test"
	authPassword = "pull-secret-test"
)

// agentImage is the agent image the built plugin names, as the registry
// holds it (ghcr.io resolves to the harness's registry).
func agentImage(t *testing.T) v1.Image {
	t.Helper()
	out, errOut, code := plugin(t, "version").onHost().timeout(time.Minute).run()
	var image string
	for _, l := range strings.Split(out, "\n") {
		if s, ok := strings.CutPrefix(l, "agent image: "); ok {
			image = s
		}
	}
	if code != 0 || image == "" {
		t.Fatalf("kubectl-mirror version: exit %d, %q %s", code, out, errOut)
	}
	ref, err := name.ParseReference(strings.Replace(image, "ghcr.io", openRegistry, 1), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("the agent image is not in the harness's registry: %v", err)
	}
	return img
}

// pushVariant pushes the agent image, made distinct by a label (new for
// each run, so no node holds it yet), to ref and returns REPO@DIGEST.
func pushVariant(t *testing.T, img v1.Image, ref string, opts ...remote.Option) string {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg := cf.Config
	cfg.Labels = map[string]string{"kubectl-mirror.test/variant": ref + "@" + time.Now().UTC().Format(time.RFC3339Nano)}
	variant, err := mutate.Config(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, variant, opts...); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	d, err := variant.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return r.Context().Name() + "@" + d.String()
}

// agentImagesIn returns the images of the pod's ephemeral agent containers.
func agentImagesIn(t *testing.T, pod string) []string {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, ec := range p.Spec.EphemeralContainers {
		images = append(images, ec.Image)
	}
	return images
}

// TestAgentPinnedByDigest: a second agent tag pushed to the registry, named
// by digest with --agent-image, is the image the pod spec shows, and the
// kubelet pulls and runs it.
func TestAgentPinnedByDigest(t *testing.T) {
	pinned := pushVariant(t, agentImage(t), openRegistry+"/kubectl-mirror/mirror-agent:e2e-pinned")
	pod := firstEchoPod(t)
	out, errOut, code := plugin(t, "run", "pod/"+pod, "--agent-image", pinned, "--", "sh", "-c", "echo $POD_NAME").run()
	if code != 0 || strings.TrimSpace(out) != pod {
		t.Fatalf("exit %d, stdout %q\n%s", code, out, errOut)
	}
	found := false
	for _, im := range agentImagesIn(t, pod) {
		found = found || im == pinned
	}
	if !found {
		t.Fatalf("pod/%s's agents run %v; want %s", pod, agentImagesIn(t, pod), pinned)
	}
}

// TestPrivateRegistryTakesThePodsPullSecret: an agent image in a registry
// that asks for credentials is pulled for a pod that holds an imagePullSecret
// for it; for a pod without one the run ends with one line naming the pull
// failure and what to do, as soon as the kubelet reports it.
func TestPrivateRegistryTakesThePodsPullSecret(t *testing.T) {
	cs := clientset(t)
	ctx := context.Background()
	private := pushVariant(t, agentImage(t), authRegistry+"/kubectl-mirror/mirror-agent:private",
		remote.WithAuth(&authn.Basic{Username: authUser, Password: authPassword}))
	auth := base64.StdEncoding.EncodeToString([]byte(authUser + ":" + authPassword))
	dockercfg, _ := json.Marshal(map[string]any{"auths": map[string]any{authRegistry: map[string]string{"auth": auth}}})
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mirror-pull"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: dockercfg}}
	if _, err := cs.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Secrets("default").Delete(ctx, "mirror-pull", metav1.DeleteOptions{}) })
	grace := int64(0)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "private-pulls"}, Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		ImagePullSecrets:              []corev1.LocalObjectReference{{Name: "mirror-pull"}},
		Containers: []corev1.Container{{Name: "sh", Image: "mirror.test/busybox:v1", ImagePullPolicy: corev1.PullIfNotPresent,
			Command: []string{"/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}}},
	}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Pods("default").Delete(ctx, "private-pulls", metav1.DeleteOptions{}) })
	kubectl(t, "wait", "--for=condition=Ready", "pod/private-pulls", "--timeout=60s")

	// Without a secret first (the node does not hold the image yet; once it
	// does, IfNotPresent serves it to any pod): the kubelet's pull error, at
	// once, not the startup timeout.
	out, errOut, code := plugin(t, "run", "pod/toolbox", "--agent-image", private, "--agent-startup-timeout", "10m", "--", "echo", "SHOULD-NOT-RUN").run()
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	last := lines[len(lines)-1]
	if code == 0 || out != "" || !strings.HasPrefix(last, "error: ") || !strings.Contains(last, "imagePullSecrets") ||
		!(strings.Contains(last, "ErrImagePull") || strings.Contains(last, "ImagePullBackOff")) {
		t.Fatalf("without a pull secret: exit %d, stdout %q\n%s", code, out, errOut)
	}
	out, errOut, code = plugin(t, "run", "pod/private-pulls", "--agent-image", private, "--", "echo", "pulled with the pod's secret").run()
	if code != 0 || out != "pulled with the pod's secret\n" {
		t.Fatalf("with the pull secret: exit %d, stdout %q\n%s", code, out, errOut)
	}
}

// TestReleaseIsReproducible: `make release` pushes the agent's index for
// linux/amd64 and linux/arm64 and prints its digest; twice from the same
// commit, the same digest.
func TestReleaseIsReproducible(t *testing.T) {
	var digests []string
	for i := 0; i < 2; i++ {
		out, err := run(t, 5*time.Minute, "make", "-s", "-C", repoRoot(t), "release", "REGISTRY="+openRegistry+"/release-e2e")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || !strings.Contains(lines[len(lines)-1], "@sha256:") {
			t.Fatalf("make release: %v\n%s", err, out)
		}
		digests = append(digests, lines[len(lines)-1])
	}
	if digests[0] != digests[1] {
		t.Fatalf("two releases of one commit: %s and %s", digests[0], digests[1])
	}
	ref, err := name.ParseReference(digests[0], name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, m := range im.Manifests {
		platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Fatalf("index platforms %v", platforms)
	}
}
