package procnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNoDiag: the kernel does not answer sock_diag lookups of UDP sockets
// (no udp_diag, or a sandbox that refuses netlink); read the tables.
var ErrNoDiag = errors.New("no UDP sock_diag")

// Sizes of the kernel's structs (include/uapi/linux/inet_diag.h).
const (
	nlmsgHdrLen    = 16
	diagSockIDLen  = 48 // sport, dport, src[4], dst[4], if, cookie[2]
	diagReqLen     = 8 + diagSockIDLen
	diagMsgInodeAt = 4 + diagSockIDLen + 16 // after expires, rqueue, wqueue, uid
)

// UDPInode is the inode of the UDP socket a datagram from peer to local
// would reach (bound at local or its port's wildcard; unconnected, or
// connected to peer), or 0 when there is none. It is one exact lookup in
// the kernel's socket hash, which a read of /proc/net/udp is not: that
// table is read in parts, and a row moves past the reader when sockets
// before it close meanwhile, so a live socket can be missed while others
// come and go.
func UDPInode(local, peer netip.AddrPort) (uint64, error) {
	family := uint8(unix.AF_INET)
	if !local.Addr().Is4() || !peer.Addr().Is4() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoDiag, err)
	}
	defer unix.Close(fd)
	const seq = 1
	if err := unix.Sendto(fd, diagRequest(family, local, peer, seq), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoDiag, err)
	}
	buf := make([]byte, 1024)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrNoDiag, err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrNoDiag, err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return 0, ErrNoDiag
				}
				switch errno := unix.Errno(-int32(binary.NativeEndian.Uint32(m.Data))); errno {
				case 0, unix.ENOENT:
					return 0, nil
				default:
					return 0, fmt.Errorf("%w: %v", ErrNoDiag, errno)
				}
			case unix.SOCK_DIAG_BY_FAMILY:
				if len(m.Data) < diagMsgInodeAt+4 {
					return 0, ErrNoDiag
				}
				return uint64(binary.NativeEndian.Uint32(m.Data[diagMsgInodeAt:])), nil
			}
		}
	}
}

// diagRequest is an inet_diag_req_v2 for one UDP socket. The kernel looks
// it up as the receiver of a datagram from id.src to id.dst, so the peer
// goes in src and the local address in dst. Ports and addresses are in
// network order; no cookie.
func diagRequest(family uint8, local, peer netip.AddrPort, seq uint32) []byte {
	b := make([]byte, nlmsgHdrLen+diagReqLen)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	binary.NativeEndian.PutUint16(b[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(b[6:], unix.NLM_F_REQUEST)
	binary.NativeEndian.PutUint32(b[8:], seq)
	r := b[nlmsgHdrLen:]
	r[0], r[1] = family, unix.IPPROTO_UDP
	binary.NativeEndian.PutUint32(r[4:], ^uint32(0)) // every state
	id := r[8:]
	binary.BigEndian.PutUint16(id[0:], peer.Port())
	binary.BigEndian.PutUint16(id[2:], local.Port())
	putDiagAddr(id[4:20], family, peer.Addr())
	putDiagAddr(id[20:36], family, local.Addr())
	binary.NativeEndian.PutUint32(id[40:], ^uint32(0)) // INET_DIAG_NOCOOKIE
	binary.NativeEndian.PutUint32(id[44:], ^uint32(0))
	return b
}

func putDiagAddr(dst []byte, family uint8, a netip.Addr) {
	if family == unix.AF_INET {
		v4 := a.Unmap().As4()
		copy(dst, v4[:])
		return
	}
	v6 := a.As16() // an IPv4 address as ::ffff:a.b.c.d
	copy(dst, v6[:])
}
