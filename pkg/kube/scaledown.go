package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// AnnScaledFrom, on a Deployment or StatefulSet that --scale-down set to 0,
// holds the replica count it had: whoever restores it (the session's end,
// the next run against it, `ls --cleanup`) reads it there, so a killed
// plugin loses nothing.
const AnnScaledFrom = "kubectl-mirror.io/scaled-down-from"

// scalable is what --scale-down needs of a Deployment or a StatefulSet.
type scalable struct {
	annotations     map[string]string
	replicas        int32
	resourceVersion string
	patch           func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error
}

func getScalable(ctx context.Context, cs kubernetes.Interface, ns, kind, name string) (scalable, error) {
	one := func(r *int32) int32 {
		if r == nil {
			return 1
		}
		return *r
	}
	switch kind {
	case "deployment":
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return scalable{}, err
		}
		return scalable{d.Annotations, one(d.Spec.Replicas), d.ResourceVersion, func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
			_, err := cs.AppsV1().Deployments(ns).Patch(ctx, name, pt, data, opts, sub...)
			return err
		}}, nil
	case "statefulset":
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return scalable{}, err
		}
		return scalable{s.Annotations, one(s.Spec.Replicas), s.ResourceVersion, func(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions, sub ...string) error {
			_, err := cs.AppsV1().StatefulSets(ns).Patch(ctx, name, pt, data, opts, sub...)
			return err
		}}, nil
	}
	return scalable{}, fmt.Errorf("--scale-down scales a deploy or a statefulset, not a %s: drop --scale-down", kind)
}

// MayScaleDown refuses, naming it, a source whose replica count an HPA
// owns: it would scale the source back up during the session.
func MayScaleDown(ctx context.Context, cs kubernetes.Interface, ns, kind, name string) error {
	hpa, err := hpaOf(ctx, cs, ns, kind, name)
	if err != nil {
		return err
	}
	if hpa != "" {
		return fmt.Errorf("--scale-down: %s/%s's replica count is owned by horizontalpodautoscaler/%s, which would scale it back up; drop --scale-down (the Service then shares traffic between the copy and the original pods)", kind, name, hpa)
	}
	return nil
}

// ScaleDown sets the source's replicas to 0, recording the count it had in
// AnnScaledFrom (kept when already there: another session scaled it down
// first).
func ScaleDown(ctx context.Context, cs kubernetes.Interface, ns, kind, name string) (int32, error) {
	s, err := getScalable(ctx, cs, ns, kind, name)
	if err != nil {
		return 0, err
	}
	from := s.replicas
	meta := map[string]any{"resourceVersion": s.resourceVersion}
	if v, ok := s.annotations[AnnScaledFrom]; ok {
		n, _ := strconv.Atoi(v)
		from = int32(n)
	} else {
		meta["annotations"] = map[string]any{AnnScaledFrom: strconv.Itoa(int(from))}
	}
	patch, _ := json.Marshal(map[string]any{"metadata": meta, "spec": map[string]any{"replicas": 0}})
	if err := s.patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return 0, fmt.Errorf("scale %s/%s down: %w", kind, name, err)
	}
	return from, nil
}

// RestoreScale gives a scaled-down source back the replica count recorded
// in AnnScaledFrom, unless a live copy other than except still holds it
// scaled down. It says the count restored, and false when it restored none.
func RestoreScale(ctx context.Context, cs kubernetes.Interface, ns, kind, name, except string) (int32, bool, error) {
	s, err := getScalable(ctx, cs, ns, kind, name)
	if apierrors.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	v, ok := s.annotations[AnnScaledFrom]
	if !ok {
		return 0, false, nil
	}
	copies, err := ListCopies(ctx, cs, ns, "")
	if err != nil {
		return 0, false, err
	}
	src := Source{Kind: kind, Name: name}
	for _, c := range copies {
		if c.Job != except && c.Source == src.Ref() && c.ScaleDown && c.Live() {
			return 0, false, nil
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, false, fmt.Errorf("%s/%s: annotation %s=%q is not a count: set the replicas yourself and remove it", kind, name, AnnScaledFrom, v)
	}
	patch, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": s.resourceVersion, "annotations": map[string]any{AnnScaledFrom: nil}},
		"spec":     map[string]any{"replicas": n}})
	if err := s.patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return 0, false, fmt.Errorf("restore %s/%s to %d replicas: %w", kind, name, n, err)
	}
	return int32(n), true, nil
}

// hpaOf names the HorizontalPodAutoscaler scaling kind/name, "" when none.
func hpaOf(ctx context.Context, cs kubernetes.Interface, ns, kind, name string) (string, error) {
	list, err := cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("check for a HorizontalPodAutoscaler of %s/%s: %w", kind, name, err)
	}
	want := map[string]string{"deployment": "Deployment", "statefulset": "StatefulSet"}[kind]
	for _, h := range list.Items {
		if h.Spec.ScaleTargetRef.Kind == want && h.Spec.ScaleTargetRef.Name == name {
			return h.Name, nil
		}
	}
	return "", nil
}

// Replicas says n replicas, in the singular for one.
func Replicas(n int) string {
	if n == 1 {
		return "1 replica"
	}
	return fmt.Sprintf("%d replicas", n)
}
