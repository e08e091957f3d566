package tracer

import (
	"golang.org/x/sys/unix"
)

// SocketType returns SOCK_STREAM, SOCK_DGRAM, ... for the call's fd, by
// duplicating the fd into this process (pidfd_getfd, Linux 5.6+; the tracer
// has the ptrace access it needs) and asking the kernel.
func (c *Call) SocketType() (int, error) {
	pidfd, err := unix.PidfdOpen(c.PID, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, c.FD, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
}
