// Package syscalllog records what a traced program does with the syscalls
// kubectl mirror intercepts, and says which of them a session would send to
// the pod: the engine of `kubectl mirror trace`.
package syscalllog

import (
	"net/netip"
	"strings"
)

// defaultRemotePaths are read from the pod by default (DESIGN §4, Files);
// mounts of ConfigMaps and Secrets join them once a pod spec is known.
var defaultRemotePaths = []string{
	"/etc/resolv.conf",
	"/etc/hosts",
	"/etc/hostname",
	"/var/run/secrets/kubernetes.io/",
	"/run/secrets/kubernetes.io/",
}

// remotePath reports whether a session would read path from the pod.
func remotePath(path string) bool {
	for _, p := range defaultRemotePaths {
		if path == strings.TrimSuffix(p, "/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
			return true
		}
	}
	return false
}

// remoteAddr reports whether a session would carry traffic to addr through
// the pod: any IP destination that is not loopback or unspecified.
func remoteAddr(addr netip.AddrPort) bool {
	a := addr.Addr().Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsUnspecified()
}
