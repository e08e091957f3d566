package outgoing

import (
	"net/netip"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/procnet"
)

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
