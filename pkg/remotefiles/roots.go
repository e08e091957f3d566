package remotefiles

import (
	"fmt"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DefaultRoots are read from the pod whatever its spec says: name
// resolution (so names resolve as in the pod) and the service-account
// credentials (so an in-cluster client works unchanged).
var DefaultRoots = []string{
	"/etc/resolv.conf",
	"/etc/hosts",
	"/etc/hostname",
	"/var/run/secrets/kubernetes.io",
	"/run/secrets/kubernetes.io",
}

// MountRoots lists where the container mounts ConfigMap, Secret, projected
// and downward API volumes: the pod's configuration, which a local copy of
// the program has no other way to see.
func MountRoots(pod *corev1.Pod, container string) []string {
	kinds := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.ConfigMap != nil || v.Secret != nil || v.Projected != nil || v.DownwardAPI != nil {
			kinds[v.Name] = true
		}
	}
	var roots []string
	for _, c := range pod.Spec.Containers {
		if c.Name != container {
			continue
		}
		for _, m := range c.VolumeMounts {
			if kinds[m.Name] {
				roots = append(roots, filepath.Clean(m.MountPath))
			}
		}
	}
	return roots
}

// ParsePattern reads an --fs-remote/--fs-local value: an absolute path, a
// directory meaning everything under it ("/app/config" or "/app/config/**").
// An empty value is refused: it would otherwise read as "/", every path.
func ParsePattern(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("empty pattern: use an absolute path, a file or a directory (optionally ending in /**)")
	}
	p := strings.TrimSuffix(strings.TrimSuffix(s, "/**"), "/")
	if p == "" {
		p = "/"
	}
	if !filepath.IsAbs(p) || strings.ContainsAny(p, "*?[") {
		return "", fmt.Errorf("%q: use an absolute path, a file or a directory (optionally ending in /**)", s)
	}
	return filepath.Clean(p), nil
}
