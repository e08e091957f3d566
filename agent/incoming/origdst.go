package incoming

import (
	"encoding/binary"
	"errors"
	"net"

	"golang.org/x/sys/unix"
)

// soOriginalDst is SO_ORIGINAL_DST (and IP6T_SO_ORIGINAL_DST): the
// destination a connection had before a NAT redirect rewrote it.
const soOriginalDst = 80

var errNotRedirected = errors.New("connection did not come through the redirect")

// originalPort returns the port a client connected to before the redirect
// sent it to our listener. A client that dialed our listener's port
// directly (another pod that found it) has no other original port.
func originalPort(c net.Conn) (int, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return 0, errNotRedirected
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0, err
	}
	port, serr := 0, error(nil)
	err = raw.Control(func(fd uintptr) {
		// IPv4 (also IPv4-mapped on our dual-stack socket): a sockaddr_in,
		// read through a struct of at least its 16 bytes.
		if m, err := unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, soOriginalDst); err == nil {
			port = int(binary.BigEndian.Uint16(m.Multiaddr[2:4]))
			return
		}
		// IPv6: a sockaddr_in6, read through a struct of at least its 28 bytes.
		m, err := unix.GetsockoptIPv6MTUInfo(int(fd), unix.SOL_IPV6, soOriginalDst)
		if err != nil {
			serr = err
			return
		}
		port = ntohs(m.Addr.Port)
	})
	if err != nil {
		return 0, err
	}
	return port, serr
}

// ntohs reads a port the kernel stored in network byte order.
func ntohs(v uint16) int {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], v)
	return int(binary.BigEndian.Uint16(b[:]))
}
