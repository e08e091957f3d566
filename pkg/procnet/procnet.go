// Package procnet reads the kernel's socket tables (/proc/net/tcp, udp and
// their IPv6 twins) of this process's network namespace: the traced
// program's too, since it runs beside the plugin. Sockets are known by
// inode, which tells a program's socket from another bound to the same port.
package procnet

import (
	"bufio"
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// StateListen is a TCP socket's LISTEN state as the tables write it.
const StateListen = "0A"

// Socket is one row of a table.
type Socket struct {
	Local netip.AddrPort // IPv4-mapped addresses unmapped
	State string         // hex, as the kernel writes it ("0A": LISTEN)
	Inode uint64
}

// Sockets reads proto's table ("tcp" or "udp"), IPv4 and IPv6 rows alike.
// An unreadable table gives no rows.
func Sockets(proto string) []Socket {
	var out []Socket
	for _, f := range []string{"/proc/net/" + proto, "/proc/net/" + proto + "6"} {
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
			local, ok := ParseAddr(fields[1])
			ino, err := strconv.ParseUint(fields[9], 10, 64)
			if ok && err == nil {
				out = append(out, Socket{Local: local, State: fields[3], Inode: ino})
			}
		}
		file.Close()
	}
	return out
}

// ParseAddr reads a table's "0100007F:1F90" (32-bit words in host order).
func ParseAddr(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	raw, herr := hex.DecodeString(h)
	if !ok || err != nil || herr != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}
