//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// copySelector picks the copies kubectl mirror makes (Jobs and their pods).
const copySelector = "app.kubernetes.io/managed-by=kubectl-mirror,app.kubernetes.io/name=kubectl-mirror-copy"

// echoServiceIn deploys the echo workload with REPLICAS pods as deploy/echo
// behind Service echo in ns, and waits for its rollout.
func echoServiceIn(t *testing.T, ns, replicas string) {
	t.Helper()
	applyManifest(t, echoDeployment(ns, replicas)+`---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: `+ns+`}
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: 8080}]
`)
	kubectl(t, "rollout", "status", "deploy/echo", "-n", ns, "--timeout=120s")
}

// copyPod is the name of the Ready copy in ns, once the session says its
// agent runs.
func copyPod(t *testing.T, ns string, s *session) string {
	t.Helper()
	testenv.Eventually(t, 120*time.Second, func() bool { return strings.Contains(s.err(), " running") }, s.err)
	pods, err := clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: copySelector})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("want one copy in %s, got %v (%v)\n%s", ns, len(pods.Items), err, s.err())
	}
	return pods.Items[0].Name
}

// replicas is deploy/echo's desired replica count and its pods (the copy
// is none of them).
func replicas(t *testing.T, ns string) (int32, int) {
	t.Helper()
	d, err := clientset(t).AppsV1().Deployments(ns).Get(context.Background(), "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=echo,app.kubernetes.io/name!=kubectl-mirror-copy"})
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live++
		}
	}
	return *d.Spec.Replicas, live
}

// restoredAndClean waits until deploy/echo is back at want replicas, its
// annotation gone, and no copy (Job or pod) is left in ns.
func restoredAndClean(t *testing.T, ns string, want int32) {
	t.Helper()
	last := ""
	testenv.Eventually(t, 60*time.Second, func() bool {
		d, err := clientset(t).AppsV1().Deployments(ns).Get(context.Background(), "echo", metav1.GetOptions{})
		if err != nil {
			return false
		}
		jobs, _ := clientset(t).BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: copySelector})
		pods, _ := clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: copySelector})
		_, ann := d.Annotations["kubectl-mirror.io/scaled-down-from"]
		last = fmt.Sprintf("%d replicas, annotation left: %v, %d copy jobs, %d copy pods", *d.Spec.Replicas, ann, len(jobs.Items), len(pods.Items))
		return *d.Spec.Replicas == want && !ann && len(jobs.Items) == 0 && len(pods.Items) == 0
	}, func() string { return last })
}

// --copy-target --scale-down of a Deployment of 2: during the session the
// Deployment has 0 replicas and the copy answers the Service; after Ctrl-C,
// and after kill -9 and `ls --cleanup`, it has 2 again and no copy is left.
func TestCopyTargetScaleDown(t *testing.T) {
	ns := tempNamespace(t, "mirror-copy")
	echoServiceIn(t, ns, "2")

	s := plugin(t, "run", "-n", ns, "deploy/echo", "--copy-target", "--scale-down", "--incoming", "off", "--", "sleep", "600").start()
	pod := copyPod(t, ns, s)
	testenv.Eventually(t, 30*time.Second, func() bool { r, live := replicas(t, ns); return r == 0 && live == 0 },
		func() string {
			r, live := replicas(t, ns)
			return fmt.Sprintf("deploy/echo: %d replicas, %d pods", r, live)
		})
	for i := 0; i < 3; i++ { // each request may pick any endpoint: the copy is the only one
		out := fromToolbox(t, "timeout 10 wget -qO- http://echo."+ns+"/copy")
		if !strings.Contains(out, `"pod":"`+pod+`"`) {
			t.Fatalf("through the Service: %s, want the copy %s", out, pod)
		}
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	s.ended(t, "SIGINT", 60*time.Second)
	if !strings.Contains(s.err(), "restored deployment/echo to 2 replicas") {
		t.Errorf("the session did not say it restored deploy/echo:\n%s", s.err())
	}
	restoredAndClean(t, ns, 2)

	kubectl(t, "rollout", "status", "deploy/echo", "-n", ns, "--timeout=120s")
	s = plugin(t, "run", "-n", ns, "deploy/echo", "--copy-target", "--scale-down", "--incoming", "off", "--", "sleep", "600").start()
	copyPod(t, ns, s)
	testenv.Eventually(t, 30*time.Second, func() bool { r, _ := replicas(t, ns); return r == 0 }, s.err)
	_ = s.cmd.Process.Kill()
	s.ended(t, "kill -9", 60*time.Second)
	out, errOut, code := plugin(t, "ls", "-n", ns, "--cleanup").run()
	if code != 0 || !strings.Contains(errOut, "the stale copy of deployment/echo") || !strings.Contains(errOut, "restored deployment/echo in "+ns+" to 2 replicas") {
		t.Fatalf("ls --cleanup: exit %d\n%s%s", code, out, errOut)
	}
	restoredAndClean(t, ns, 2)

	applyManifest(t, `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: echo-hpa, namespace: `+ns+`}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: echo}
  minReplicas: 2
  maxReplicas: 4
`)
	_, errOut, code = plugin(t, "run", "-n", ns, "deploy/echo", "--copy-target", "--scale-down", "--", "true").run()
	if line := oneErrorLine(t, errOut); code == 0 || !strings.Contains(line, "horizontalpodautoscaler/echo-hpa") {
		t.Fatalf("an HPA's Deployment: exit %d: %s", code, line)
	}
	restoredAndClean(t, ns, 2)
}

// A copy carries its controller's labels but has a controller of its own:
// the ReplicaSet it was copied from (whose selector matches it) scales up
// and down around it without adopting or deleting it.
func TestCopyTargetSurvivesItsReplicaSet(t *testing.T) {
	ns := tempNamespace(t, "mirror-copyrs")
	echoServiceIn(t, ns, "1")
	rss, err := clientset(t).AppsV1().ReplicaSets(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=echo"})
	if err != nil || len(rss.Items) != 1 {
		t.Fatalf("want one ReplicaSet, got %d (%v)", len(rss.Items), err)
	}
	rs := rss.Items[0].Name

	s := plugin(t, "run", "-n", ns, "replicaset/"+rs, "--copy-target", "--incoming", "off", "--", "sleep", "600").start()
	pod := copyPod(t, ns, s)
	kubectl(t, "scale", "deploy/echo", "-n", ns, "--replicas=2")
	kubectl(t, "rollout", "status", "deploy/echo", "-n", ns, "--timeout=120s")
	kubectl(t, "scale", "deploy/echo", "-n", ns, "--replicas=1")
	testenv.Eventually(t, 60*time.Second, func() bool { _, live := replicas(t, ns); return live == 1 },
		func() string { _, live := replicas(t, ns); return fmt.Sprintf("%d pods of the ReplicaSet", live) })

	p, err := clientset(t).CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("the copy did not survive its ReplicaSet's resync: %v", err)
	}
	if p.Labels["pod-template-hash"] == "" || p.Labels["app"] != "echo" {
		t.Errorf("the copy lost the ReplicaSet's labels: %v", p.Labels)
	}
	ref := metav1.GetControllerOf(p)
	if ref == nil || ref.Kind != "Job" {
		t.Fatalf("the copy's controller is %+v, want its Job", ref)
	}
	counted := int32(-1)
	testenv.Eventually(t, 30*time.Second, func() bool {
		got, err := clientset(t).AppsV1().ReplicaSets(ns).Get(context.Background(), rs, metav1.GetOptions{})
		if err == nil {
			counted = got.Status.Replicas
		}
		return counted == 1
	}, func() string { return fmt.Sprintf("the ReplicaSet counts %d pods, want 1 (not the copy)", counted) })
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	s.ended(t, "SIGINT", 60*time.Second)
}

// A suspended CronJob has no pod: run says to use --copy-target in one
// line, and with it the program reads the env of the CronJob's template;
// a finished Job, copied with --copy-target-command (its own command has
// ended), the same.
func TestCopyTargetCronJobAndFinishedJob(t *testing.T) {
	ns := tempNamespace(t, "mirror-copycron")
	applyManifest(t, `apiVersion: batch/v1
kind: CronJob
metadata: {name: report, namespace: `+ns+`}
spec:
  schedule: "0 3 * * *"
  suspend: true
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          terminationGracePeriodSeconds: 1
          containers:
          - name: report
            image: mirror.test/echo:v1
            imagePullPolicy: IfNotPresent
            args: ["serve"]
            env:
            - {name: REPORT_KIND, value: nightly}
---
apiVersion: batch/v1
kind: Job
metadata: {name: done, namespace: `+ns+`}
spec:
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: once
        image: mirror.test/busybox:v1
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "exit 0"]
        env:
        - {name: ONCE_MARK, value: finished-job}
`)
	_, errOut, code := plugin(t, "run", "-n", ns, "cronjob/report", "--", "env").run()
	if line := oneErrorLine(t, errOut); code == 0 || !strings.Contains(line, "cronjob/report") || !strings.Contains(line, "--copy-target") {
		t.Fatalf("exit %d: %s", code, line)
	}
	out, errOut, code := plugin(t, "run", "-n", ns, "cronjob/report", "--copy-target", "--incoming", "off", "--", "env").run()
	if code != 0 || !strings.Contains(out, "REPORT_KIND=nightly\n") {
		t.Fatalf("run cronjob/report --copy-target -- env: exit %d\n%s\n%s", code, out, errOut)
	}

	kubectl(t, "wait", "-n", ns, "--for=condition=complete", "job/done", "--timeout=120s")
	_, errOut, code = plugin(t, "run", "-n", ns, "job/done", "--", "env").run()
	if line := oneErrorLine(t, errOut); code == 0 || !strings.Contains(line, "--copy-target") {
		t.Fatalf("exit %d: %s", code, line)
	}
	out, errOut, code = plugin(t, "run", "-n", ns, "job/done", "--copy-target", "--copy-target-command", "sleep 3600", "--incoming", "off", "--", "env").run()
	if code != 0 || !strings.Contains(out, "ONCE_MARK=finished-job\n") {
		t.Fatalf("run job/done --copy-target -- env: exit %d\n%s\n%s", code, out, errOut)
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		pods, err := clientset(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: copySelector})
		return err == nil && len(pods.Items) == 0
	}, func() string { return "copies are left in " + ns })
}

// --copy-target asks for its own verbs, and only then: with the run Role
// alone it is refused before anything changes, naming the rule; with the
// copy Role of deploy/rbac.yaml beside it, it works and leaves nothing.
func TestCopyTargetRoles(t *testing.T) {
	shipped, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	scratchPod(t, "copyroles")
	runOnly := identityKubeconfig(t, "mirror-copy-runonly", shippedRules(shipped, 0))
	_, errOut, code := plugin(t, "run", "pod/copyroles", "--copy-target", "--", "true").kubeconfig(runOnly).run()
	if line := oneErrorLine(t, errOut); code == 0 || !strings.Contains(line, `resources: ["jobs"], verbs: ["create"]`) {
		t.Fatalf("exit %d: %s", code, line)
	}
	both := identityKubeconfig(t, "mirror-copy-both", shippedRules(shipped, 0)+shippedRules(shipped, 1))
	out, errOut, code := plugin(t, "run", "pod/copyroles", "--copy-target", "--incoming", "off", "--", "sh", "-c", "cat /etc/hostname").kubeconfig(both).run()
	if code != 0 || !strings.HasPrefix(out, "copyroles-mirror-copy-") {
		t.Fatalf("with the copy Role: exit %d, stdout %q\n%s", code, out, errOut)
	}
	testenv.Eventually(t, 60*time.Second, func() bool {
		jobs, err := clientset(t).BatchV1().Jobs("default").List(context.Background(), metav1.ListOptions{LabelSelector: copySelector + ",kubectl-mirror.io/copy-of=pod.copyroles"})
		return err == nil && len(jobs.Items) == 0
	}, func() string { return "the copy's Job is left" })
}
