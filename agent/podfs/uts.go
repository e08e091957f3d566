package podfs

import (
	"bytes"

	"golang.org/x/sys/unix"
)

// Domainname is the NIS domain name of the pod's UTS namespace, which an
// ephemeral container shares ("(none)" when unset, as uname says): the
// agent's own, not the target's, so it needs no Target.
func Domainname() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return string(bytes.TrimRight(u.Domainname[:], "\x00"))
}
