package doctor

import (
	"os"
	"strings"
)

// container names the container runtime this process runs under, or "" on the
// host: the marker files Docker and Podman leave, else the init process's
// cgroup path (Kubernetes, containerd).
func container() string {
	if _, err := os.Stat("/run/.containerenv"); err == nil {
		return "podman"
	}
	if _, err := os.Stat("/.dockerenv"); err == nil {
		return "docker"
	}
	b, err := os.ReadFile("/proc/1/cgroup")
	if err != nil {
		return ""
	}
	for _, marker := range []string{"kubepods", "docker", "containerd", "libpod"} {
		if strings.Contains(string(b), marker) {
			return marker
		}
	}
	return ""
}
