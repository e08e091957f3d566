//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"
)

// A pod whose sidecar is native (an init container with restartPolicy:
// Always, listed first): the default container is the app; -c naming the
// sidecar is refused in one line saying it is a sidecar; ls marks it.
func TestNativeSidecarIsNotTheDefault(t *testing.T) {
	ns := tempNamespace(t, "mirror-sidecar")
	applyManifest(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: withsidecar, namespace: `+ns+`}
spec:
  replicas: 1
  selector:
    matchLabels: {app: withsidecar}
  template:
    metadata:
      labels: {app: withsidecar}
    spec:
      terminationGracePeriodSeconds: 1
      initContainers:
      - name: proxy
        image: mirror.test/busybox:v1
        imagePullPolicy: IfNotPresent
        restartPolicy: Always
        command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
        env: [{name: SIDECAR_ONLY, value: sidecar-value}]
        ports: [{containerPort: 15001}]
      containers:
      - name: app
        image: mirror.test/echo:v1
        imagePullPolicy: IfNotPresent
        args: ["serve"]
        env: [{name: APP_ONLY, value: app-value}]
        ports: [{containerPort: 8080}]
`)
	kubectl(t, "rollout", "status", "deploy/withsidecar", "-n", ns, "--timeout=120s")
	out, errOut, code := plugin(t, "run", "-n", ns, "deploy/withsidecar", "--", "sh", "-c", `echo "$APP_ONLY|$SIDECAR_ONLY"`).run()
	if code != 0 || out != "app-value|\n" || !strings.Contains(errOut, ", container app") {
		t.Fatalf("default container: exit %d, stdout %q\n%s", code, out, errOut)
	}
	_, errOut, code = plugin(t, "run", "-n", ns, "deploy/withsidecar", "-c", "proxy", "--", "true").run()
	line := oneErrorLine(t, errOut)
	if code == 0 || !strings.Contains(line, `container "proxy"`) || !strings.Contains(line, "native sidecar") || !strings.Contains(line, "name one of app") {
		t.Fatalf("-c proxy: exit %d: %s", code, line)
	}
	out, errOut, code = plugin(t, "ls", "-n", ns).timeout(time.Minute).run()
	if code != 0 || !strings.Contains(out, "app (8080/TCP) proxy[sidecar] (15001/TCP)") {
		t.Fatalf("ls: exit %d\n%s%s", code, out, errOut)
	}
}
