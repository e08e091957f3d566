package incoming

import (
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// fromAgentBinary: the process at the other end of c runs this very
// binary (its executable is this one's file), as far as this agent's PID
// namespace lets it see. Claims from such processes wait in a queue of
// their own, so processes of the pod that hold connections open without
// claiming (anyone in the network namespace can) cannot starve agents
// joining a shared port. It is a queue, not a trust decision: a claim is
// still admitted only by its signature.
func fromAgentBinary(c net.Conn) bool {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err != nil || cred == nil || cred.Pid <= 0 {
		return false // in a PID namespace this agent does not see
	}
	var peer, self unix.Stat_t
	if unix.Stat("/proc/"+strconv.Itoa(int(cred.Pid))+"/exe", &peer) != nil || unix.Stat("/proc/self/exe", &self) != nil {
		return false
	}
	return peer.Dev == self.Dev && peer.Ino == self.Ino
}
