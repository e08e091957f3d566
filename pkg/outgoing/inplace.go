package outgoing

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A non-blocking connect is answered EINPROGRESS at once (asyncconnect.go)
// and its socket waits for the pod's dial listening, in place: a listening
// socket never polls writable nor hung up, so the program's poll sleeps and
// its own timer runs, and getpeername says ENOTCONN as for a connecting
// socket. When the dial ends the socket is taken back (connect AF_UNSPEC)
// and connected for real, on loopback, at once.

// listenInPlace binds the unbound socket fd to a loopback port named
// explicitly (so the port outlives the disconnect that ends the listening:
// the kernel keeps only an explicitly chosen port) and listens with backlog
// 0, so that nothing but loopback can reach it and little can queue there.
func listenInPlace(fd int, family uint16, at netip.Addr) (netip.AddrPort, error) {
	var err error
	for range 5 { // another process may take the port between pick and bind
		var port uint16
		if port, err = freePort(at); err != nil {
			return netip.AddrPort{}, err
		}
		bound := netip.AddrPortFrom(at, port)
		if err = unix.Bind(fd, sockaddr(family, bound)); err == unix.EADDRINUSE {
			continue
		}
		if err != nil {
			return netip.AddrPort{}, err
		}
		return bound, unix.Listen(fd, 0)
	}
	return netip.AddrPort{}, err
}

// freePort is a TCP port free on at now.
func freePort(at netip.Addr) (uint16, error) {
	fd, port, err := boundSocket(at)
	if err != nil {
		return 0, err
	}
	unix.Close(fd)
	return port, nil
}

// boundSocket is a TCP socket bound to at and an ephemeral port, never
// listening: a SYN to that port is refused.
func boundSocket(at netip.Addr) (int, uint16, error) {
	family := uint16(unix.AF_INET)
	if !at.Unmap().Is4() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(int(family), unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, err
	}
	if err := unix.Bind(fd, sockaddr(family, netip.AddrPortFrom(at.Unmap(), 0))); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return fd, uint16(a.Port), nil
	case *unix.SockaddrInet6:
		return fd, uint16(a.Port), nil
	}
	unix.Close(fd)
	return -1, 0, unix.EAFNOSUPPORT
}

// reconnect takes the listening socket fd back and connects it to to; it
// returns once the connect has ended (loopback: at once), leaving its error
// (SO_ERROR, which reading would clear) for the program. Between the two calls the socket polls writable and hung up
// (the kernel wakes pollers on the disconnect); the handler holds the
// program's getsockopt(SO_ERROR) until this returns.
func reconnect(fd int, family uint16, to netip.AddrPort) error {
	if err := disconnect(fd); err != nil {
		return err
	}
	switch err := unix.Connect(fd, sockaddr(family, to)); err {
	case nil, unix.ECONNREFUSED: // ended already
		return nil
	case unix.EINPROGRESS:
	default:
		return err
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		if _, err := unix.Poll(fds, 1000); err != unix.EINTR {
			return err
		}
	}
}

// disconnect is connect(fd, AF_UNSPEC): a listening socket stops listening
// (anything queued is reset) and keeps its explicitly bound address.
func disconnect(fd int) error {
	var sa [16]byte // sa_family AF_UNSPEC (0)
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if e != 0 {
		return e
	}
	return nil
}

// sockaddr is ap for a socket of the family: IPv4-mapped on AF_INET6.
func sockaddr(family uint16, ap netip.AddrPort) unix.Sockaddr {
	if family == afInet6 {
		return &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
	}
	return &unix.SockaddrInet4{Addr: ap.Addr().Unmap().As4(), Port: int(ap.Port())}
}
