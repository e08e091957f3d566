package outgoing

import (
	"bufio"
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// udpSockets reads the UDP sockets of this network namespace (the
// program's: it runs beside the plugin) as local address -> inode, from
// /proc/net/udp and udp6. A program socket is known by its inode, so a
// socket another process binds to a port the program has let go is told
// apart.
func udpSockets() map[netip.AddrPort]uint64 {
	out := map[netip.AddrPort]uint64{}
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		file, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			ap, ok := parseProcAddr(fields[1])
			ino, err := strconv.ParseUint(fields[9], 10, 64)
			if ok && err == nil {
				out[ap] = ino
			}
		}
		file.Close()
	}
	return out
}

// parseProcAddr reads /proc/net's "0100007F:1F90" (little-endian words).
func parseProcAddr(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	raw, herr := hex.DecodeString(h)
	if !ok || err != nil || herr != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 { // each 32-bit word is in host (little-endian) order
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}
