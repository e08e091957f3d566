package agent

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// podDomainname is the NIS domain name of the pod's UTS namespace, which an
// ephemeral container shares ("(none)" when unset, as uname says).
func podDomainname() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return string(bytes.TrimRight(u.Domainname[:], "\x00"))
}
