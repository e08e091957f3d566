package tracer

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

const (
	sizeofSockaddrInet4 = 16
	sizeofSockaddrInet6 = 28
)

// decodeSockaddr reads an AF_INET or AF_INET6 sockaddr; other families are
// not ours to touch (ok is false).
func decodeSockaddr(b []byte) (ap netip.AddrPort, family uint16, ok bool) {
	if len(b) < 2 {
		return ap, 0, false
	}
	family = binary.LittleEndian.Uint16(b)
	switch {
	case family == unix.AF_INET && len(b) >= sizeofSockaddrInet4:
		var a [4]byte
		copy(a[:], b[4:8])
		return netip.AddrPortFrom(netip.AddrFrom4(a), binary.BigEndian.Uint16(b[2:4])), family, true
	case family == unix.AF_INET6 && len(b) >= sizeofSockaddrInet6:
		var a [16]byte
		copy(a[:], b[8:24])
		addr := netip.AddrFrom16(a)
		if scope := binary.LittleEndian.Uint32(b[24:28]); scope != 0 {
			addr = addr.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return netip.AddrPortFrom(addr, binary.BigEndian.Uint16(b[2:4])), family, true
	}
	return ap, family, false
}

// encodeSockaddr writes ap in the given family. An IPv4 address in an AF_INET6
// socket becomes an IPv4-mapped address, as the program itself would write it.
func encodeSockaddr(family uint16, ap netip.AddrPort) []byte {
	if family == unix.AF_INET && ap.Addr().Unmap().Is4() {
		b := make([]byte, sizeofSockaddrInet4)
		binary.LittleEndian.PutUint16(b, unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:], ap.Port())
		a := ap.Addr().Unmap().As4()
		copy(b[4:], a[:])
		return b
	}
	b := make([]byte, sizeofSockaddrInet6)
	binary.LittleEndian.PutUint16(b, unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:], ap.Port())
	a := ap.Addr().As16()
	copy(b[8:], a[:])
	return b
}
