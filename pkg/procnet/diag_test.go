package procnet

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
)

// inodeOf is the inode of c's socket, as /proc/PID/fd shows it.
func inodeOf(t *testing.T, c *net.UDPConn) uint64 {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if cerr := raw.Control(func(fd uintptr) { err = syscall.Fstat(int(fd), &st) }); cerr != nil || err != nil {
		t.Fatal(cerr, err)
	}
	return st.Ino
}

func lookup(t *testing.T, local, peer netip.AddrPort) uint64 {
	t.Helper()
	ino, err := UDPInode(local, peer)
	if errors.Is(err, ErrNoDiag) {
		t.Skipf("this kernel answers no UDP sock_diag lookup: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return ino
}

// The lookup finds the socket a datagram from the peer would reach:
// unconnected, connected to that peer, or bound to the wildcard; not one
// connected elsewhere, nor one that has closed.
func TestUDPInodeFindsTheReceivingSocket(t *testing.T) {
	peer := netip.MustParseAddrPort("127.0.0.1:53")
	other := netip.MustParseAddrPort("127.0.0.1:54")
	unconnected, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer unconnected.Close()
	at := unconnected.LocalAddr().(*net.UDPAddr).AddrPort()
	if got, want := lookup(t, at, peer), inodeOf(t, unconnected); got != want || want == 0 {
		t.Fatalf("unconnected socket at %v: inode %d, want %d", at, got, want)
	}

	connected, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(peer))
	if err != nil {
		t.Fatal(err)
	}
	cat := connected.LocalAddr().(*net.UDPAddr).AddrPort()
	if got, want := lookup(t, cat, peer), inodeOf(t, connected); got != want {
		t.Fatalf("socket at %v connected to %v: inode %d, want %d", cat, peer, got, want)
	}
	if got := lookup(t, cat, other); got != 0 {
		t.Fatalf("socket connected to %v found for a datagram from %v (inode %d)", peer, other, got)
	}
	connected.Close()
	if got := lookup(t, cat, peer); got != 0 {
		t.Fatalf("closed socket at %v still found: inode %d", cat, got)
	}

	wild, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	defer wild.Close()
	port := uint16(wild.LocalAddr().(*net.UDPAddr).Port)
	want := inodeOf(t, wild)
	for _, local := range []netip.AddrPort{netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port), netip.AddrPortFrom(netip.IPv6Loopback(), port)} {
		p := peer
		if local.Addr().Is6() {
			p = netip.AddrPortFrom(netip.IPv6Loopback(), 53)
		}
		if got := lookup(t, local, p); got != want {
			t.Fatalf("dual-stack wildcard socket, datagram to %v: inode %d, want %d", local, got, want)
		}
	}
}

// An IPv6 socket connected to an IPv4 peer through its mapped address (as
// Java's are) sends from the IPv4 address, and is found by it.
func TestUDPInodeFindsAMappedIPv6Socket(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no IPv6 sockets here: %v", err)
	}
	defer syscall.Close(fd)
	peer := netip.MustParseAddrPort("127.0.0.1:53")
	if err := syscall.Connect(fd, &syscall.SockaddrInet6{Port: int(peer.Port()), Addr: netip.AddrFrom4(peer.Addr().As4()).As16()}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	s6 := sa.(*syscall.SockaddrInet6)
	local := netip.AddrPortFrom(netip.AddrFrom16(s6.Addr).Unmap(), uint16(s6.Port))
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	if got := lookup(t, local, peer); got != st.Ino {
		t.Fatalf("mapped socket at %v: inode %d, want %d", local, got, st.Ino)
	}
}
