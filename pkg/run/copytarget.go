package run

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// CopyConfig is --copy-target: the session runs against a new pod made
// from the target's pod template, deleted when the session ends.
type CopyConfig struct {
	Enabled bool
	Labels  bool     // keep the source's labels, so its Services send the copy traffic
	Command []string // replaces the app container's command; nil: the original
	// ScaleDown sets a Deployment's or StatefulSet's replicas to 0 for the
	// session, restored after.
	ScaleDown bool
}

// minLease bounds how soon a copy whose plugin died ends on its own.
const minLease = time.Minute

// startCopy makes the copy of cfg's target and points cfg at it
// (pod/NAME). undo deletes the copy and restores a scaled-down source; it
// runs once, even after ctx is cancelled.
func startCopy(ctx context.Context, cfg *Config, cs kubernetes.Interface) (undo func(), err error) {
	ns, _, err := cfg.Getter.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	obj, _, err := kube.FindObject(cfg.Getter, ns, cfg.TargetArgs)
	if err != nil {
		return nil, kube.ExplainNotFound(ctx, cs, ns, cfg.TargetArgs, err)
	}
	src, err := kube.SourceOf(obj)
	if err != nil {
		return nil, err
	}
	scaleKind := ""
	if cfg.Copy.ScaleDown {
		if src.Kind != "deployment" && src.Kind != "statefulset" {
			return nil, fmt.Errorf("--scale-down scales a deploy or a statefulset, not %s: drop --scale-down", src.Ref())
		}
		scaleKind = src.Kind
	}
	if err := kube.PreflightCopy(ctx, cs, ns, scaleKind); err != nil {
		return nil, err
	}
	if scaleKind != "" {
		if err := kube.MayScaleDown(ctx, cs, ns, src.Kind, src.Name); err != nil {
			return nil, err
		}
	}
	restoreLeftScaledDown(ctx, *cfg, cs, ns, obj)

	lease := max(cfg.Agent.IdleTimeout, minLease)
	job, err := kube.CopyJob(ns, src, kube.CopyOptions{
		Container: cfg.Container, Command: cfg.Copy.Command, Labels: cfg.Copy.Labels, ScaleDown: cfg.Copy.ScaleDown,
		Key: protocol.EncodeKey(cfg.Agent.Key.Public().(ed25519.PublicKey)), User: whoAmI(), Holder: kube.Holder(),
		Lease: lease + cfg.Agent.StartupTimeout, Suffix: randomSuffix(),
	})
	if err != nil {
		return nil, err
	}
	progress(*cfg, fmt.Sprintf("starting job/%s, a copy of %s", job.Name, src.Ref()))
	pod, err := kube.StartCopy(ctx, cs, job, cfg.Agent.StartupTimeout)
	if err != nil {
		return nil, err
	}
	renewCtx, stopRenew := context.WithCancel(context.WithoutCancel(ctx))
	var renewed sync.WaitGroup
	renewed.Add(1)
	go func() { defer renewed.Done(); renew(renewCtx, *cfg, cs, ns, job.Name, lease) }()
	var once sync.Once
	undo = func() {
		once.Do(func() {
			stopRenew()
			renewed.Wait()
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := kube.DeleteCopy(bg, cs, ns, job.Name, pod.Name); err != nil {
				progress(*cfg, fmt.Sprintf("could not delete job/%s (kubectl mirror ls --cleanup will): %v", job.Name, err))
			} else {
				progress(*cfg, fmt.Sprintf("deleted the copy job/%s", job.Name))
			}
			if scaleKind == "" {
				return
			}
			if n, ok, err := kube.RestoreScale(bg, cs, ns, src.Kind, src.Name, job.Name); err != nil {
				progress(*cfg, fmt.Sprintf("could not restore %s (kubectl mirror ls --cleanup will): %v", src.Ref(), err))
			} else if ok {
				progress(*cfg, fmt.Sprintf("restored %s to %s", src.Ref(), kube.Replicas(int(n))))
			}
		})
	}
	if scaleKind != "" {
		from, err := kube.ScaleDown(ctx, cs, ns, src.Kind, src.Name)
		if err != nil {
			undo()
			return nil, err
		}
		progress(*cfg, fmt.Sprintf("scaled %s down from %d replicas to 0 for the session", src.Ref(), from))
	}
	cfg.TargetArgs = []string{"pod/" + pod.Name}
	return undo, nil
}

// renew keeps the copy's deadline a lease ahead while the session lives.
func renew(ctx context.Context, cfg Config, cs kubernetes.Interface, ns, job string, lease time.Duration) {
	t := time.NewTicker(lease / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := kube.RenewCopy(ctx, cs, ns, job, lease); err != nil && ctx.Err() == nil {
				progress(cfg, fmt.Sprintf("could not renew job/%s's deadline: %v", job, err))
			}
		}
	}
}

// restoreLeftScaledDown gives a Deployment or StatefulSet that a session
// now gone (a killed plugin) left scaled down its replicas back, when no
// live copy holds it. Best effort: a user without the rights is told.
func restoreLeftScaledDown(ctx context.Context, cfg Config, cs kubernetes.Interface, ns string, obj runtime.Object) {
	src, err := kube.SourceOf(obj)
	if err != nil || (src.Kind != "deployment" && src.Kind != "statefulset") {
		return
	}
	if _, marked := obj.(interface{ GetAnnotations() map[string]string }).GetAnnotations()[kube.AnnScaledFrom]; !marked {
		return
	}
	if n, ok, err := kube.RestoreScale(ctx, cs, ns, src.Kind, src.Name, ""); err != nil {
		progress(cfg, fmt.Sprintf("%s was left scaled down by a session; could not restore it: %v", src.Ref(), err))
	} else if ok {
		progress(cfg, fmt.Sprintf("restored %s to %d replicas: the session that scaled it down is gone", src.Ref(), n))
	}
}

// whoAmI is user@host, for people reading the copy.
func whoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
