package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// ErrCopyStart: the copy of the target did not become Ready.
var ErrCopyStart = errors.New("the copy of the target did not start")

// StartCopy creates the copy's Job and waits until its pod is Ready. A copy
// that never gets there is deleted before the error is returned.
func StartCopy(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job, timeout time.Duration) (*corev1.Pod, error) {
	made, err := cs.BatchV1().Jobs(job.Namespace).Create(ctx, job, metav1.CreateOptions{})
	if err != nil {
		if d, ok := ParseDenial(err.Error()); ok {
			return nil, &RefusedError{d, fmt.Sprintf("%s refused the copy of %s: %s", d.By(job.Namespace), job.Annotations[annCopySrc], d.Message)}
		}
		return nil, fmt.Errorf("create the copy of %s: %w", job.Annotations[annCopySrc], err)
	}
	pod, err := waitCopy(ctx, cs, made, timeout)
	if err != nil {
		_ = DeleteCopy(context.WithoutCancel(ctx), cs, made.Namespace, made.Name, "")
		return nil, err
	}
	return pod, nil
}

// waitCopy waits for the Job's pod to be Ready; a pod that fails, an image
// that cannot be pulled, a crash or a refused pod end the wait at once.
func waitCopy(ctx context.Context, cs kubernetes.Interface, job *batchv1.Job, timeout time.Duration) (*corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no pod yet"
	for {
		pods, err := cs.CoreV1().Pods(job.Namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.JobNameLabel + "=" + job.Name})
		if err == nil {
			for i := range pods.Items {
				p := &pods.Items[i]
				if IsReady(p) {
					return p, nil
				}
				reason, fatal := copyStuck(p)
				if fatal {
					return nil, fmt.Errorf("%w: pod/%s: %s; if the app cannot start, give it another command with --copy-target-command", ErrCopyStart, p.Name, reason)
				}
				last = "pod/" + p.Name + " " + reason
			}
			if len(pods.Items) == 0 {
				if msg := refusedCreate(ctx, cs, job); msg != "" {
					return nil, fmt.Errorf("%w: namespace %s refuses its pod: %s", ErrCopyStart, job.Namespace, msg)
				}
			}
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, fmt.Errorf("%w: not Ready after %v (last: %s); see kubectl describe job/%s -n %s, or raise --agent-startup-timeout",
					ErrCopyStart, timeout, last, job.Name, job.Namespace)
			}
			return nil, ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// copyStuck says why the copy's pod is not Ready, and whether it never will.
func copyStuck(p *corev1.Pod) (string, bool) {
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		for _, st := range p.Status.ContainerStatuses {
			if t := st.State.Terminated; t != nil {
				return fmt.Sprintf("container %s exited (%s, code %d) %s", st.Name, t.Reason, t.ExitCode, strings.TrimSpace(t.Message)), true
			}
		}
		return string(p.Status.Phase), true
	}
	for _, st := range p.Status.ContainerStatuses {
		if w := st.State.Waiting; w != nil && w.Reason != "" {
			return "container " + st.Name + " " + w.Reason + ": " + w.Message, fatalWaiting(w.Reason)
		}
	}
	return podState(p), false
}

// RenewCopy moves the copy's deadline to lease from now (counted, as the
// Job controller does, from the Job's start) and records the holder.
func RenewCopy(ctx context.Context, cs kubernetes.Interface, namespace, name string, lease time.Duration) error {
	job, err := cs.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	start := job.CreationTimestamp.Time
	if job.Status.StartTime != nil {
		start = job.Status.StartTime.Time
	}
	deadline := int64(math.Ceil(time.Since(start).Seconds() + lease.Seconds()))
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"activeDeadlineSeconds": deadline}})
	_, err = cs.BatchV1().Jobs(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// DeleteCopy deletes the copy's Job and its pod ("" when not known: the
// garbage collector then deletes it after the Job).
func DeleteCopy(ctx context.Context, cs kubernetes.Interface, namespace, name, pod string) error {
	bg := metav1.DeletePropagationBackground
	if pod != "" {
		// At once: the Service must stop sending the copy traffic now.
		one := int64(1)
		_ = cs.CoreV1().Pods(namespace).Delete(ctx, pod, metav1.DeleteOptions{GracePeriodSeconds: &one})
	}
	err := cs.BatchV1().Jobs(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Holder names this plugin process, so that `ls --cleanup` on this machine
// can tell a copy whose plugin was killed: host/pid/start time.
func Holder() string {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return fmt.Sprintf("%s/%d/%s", host, pid, processStart(pid))
}

// holderGone: the holder ran on this machine and that process is gone. A
// holder elsewhere is never judged here.
func holderGone(holder string) bool {
	parts := strings.Split(holder, "/")
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[1])
	if parts[0] != host || err != nil {
		return false
	}
	start := processStart(pid)
	return start == "" || start != parts[2]
}

// processStart is the start time of pid in clock ticks since boot (field 22
// of /proc/PID/stat), "" when there is no such process: a PID reused by
// another process does not pass for the holder.
func processStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	// The command name (field 2) may hold spaces; it ends at the last ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
