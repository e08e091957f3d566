package tracer

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// dupFD duplicates the call's fd into this process (pidfd_getfd, Linux 5.6+;
// the tracer has the ptrace access it needs). The caller closes it.
func (c *Call) dupFD() (int, error) {
	pidfd, err := unix.PidfdOpen(c.PID, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pidfd)
	return unix.PidfdGetfd(pidfd, c.FD, 0)
}

// SocketType returns SOCK_STREAM, SOCK_DGRAM, ... for the call's socket.
func (c *Call) SocketType() (int, error) {
	fd, err := c.dupFD()
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	return unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
}

// SocketName returns the local address the call's socket is bound to (for
// listen: the port the program serves).
func (c *Call) SocketName() (netip.AddrPort, error) {
	fd, err := c.dupFD()
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return addrPortOf(sa)
}

// EnsureBound gives the call's socket a local port now, as the kernel would
// on connect or the first send (a wildcard address, an ephemeral port), and
// returns its local address. A socket already bound keeps its address. The
// program's own connection is then known by its source before it exists.
func (c *Call) EnsureBound() (netip.AddrPort, error) {
	fd, err := c.dupFD()
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if sockaddrPort(sa) == 0 {
		var wildcard unix.Sockaddr = &unix.SockaddrInet4{}
		if _, v6 := sa.(*unix.SockaddrInet6); v6 {
			wildcard = &unix.SockaddrInet6{}
		}
		if err := unix.Bind(fd, wildcard); err != nil {
			return netip.AddrPort{}, err
		}
		if sa, err = unix.Getsockname(fd); err != nil {
			return netip.AddrPort{}, err
		}
	}
	return addrPortOf(sa)
}

func sockaddrPort(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return -1
}

func addrPortOf(sa unix.Sockaddr) (netip.AddrPort, error) {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port)), nil
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port)), nil
	}
	return netip.AddrPort{}, unix.EAFNOSUPPORT
}

// SocketInode returns the inode of the call's socket, as /proc/net/tcp
// lists it: the socket can be followed after the call, without the program.
func (c *Call) SocketInode() (uint64, error) {
	fd, err := c.dupFD()
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}
