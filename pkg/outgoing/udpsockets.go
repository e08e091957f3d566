package outgoing

import (
	"net/netip"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/procnet"
)

// udpSocketLookup finds which socket a program's address is: by an exact
// sock_diag lookup, or, where the kernel refuses those, from one read of
// the socket tables, which can miss a live socket while others come and go
// (exact is false then, and a miss is not proof the socket closed).
type udpSocketLookup struct {
	proxyPort uint16
	table     map[netip.AddrPort]uint64 // read at the first refusal
}

// inode is the inode of the socket the proxy's datagrams to src reach.
func (l *udpSocketLookup) inode(src netip.AddrPort) (ino uint64, exact bool) {
	if l.table == nil {
		peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), l.proxyPort)
		if src.Addr().Is6() {
			peer = netip.AddrPortFrom(netip.IPv6Loopback(), l.proxyPort)
		}
		if ino, err := procnet.UDPInode(src, peer); err == nil {
			return ino, true
		}
		l.table = udpSockets()
	}
	return socketAt(l.table, src), false
}

// udpSockets is this network namespace's UDP sockets, local address ->
// inode: a program socket is known by its inode, so a socket another
// process binds to a port the program has let go is told apart.
func udpSockets() map[netip.AddrPort]uint64 {
	out := map[netip.AddrPort]uint64{}
	for _, s := range procnet.Sockets("udp") {
		out[s.Local] = s.Inode
	}
	return out
}

// socketAt is the inode of the socket bound at src: at that address, or at
// the wildcard address of the same port (a socket bound to 0.0.0.0 or ::
// sends from loopback).
func socketAt(socks map[netip.AddrPort]uint64, src netip.AddrPort) uint64 {
	for _, a := range []netip.Addr{src.Addr(), netip.IPv4Unspecified(), netip.IPv6Unspecified()} {
		if ino, ok := socks[netip.AddrPortFrom(a, src.Port())]; ok {
			return ino
		}
	}
	return 0
}
