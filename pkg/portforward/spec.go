// Package portforward serves `kubectl mirror port-forward`: -L, local
// listeners (TCP) and sockets (UDP) whose traffic the agent sends from the
// pod's network, the host named resolved by the pod's DNS (Service names,
// names only the pod's network knows); -R, a pod's port stolen and served by
// a host and port this machine reaches.
package portforward

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Forward is one -L: connections to Local go to Host:Port as dialed in the pod.
type Forward struct {
	Local netip.AddrPort
	Host  string // a name (resolved in the pod) or an address
	Port  int
	UDP   bool // datagrams: each local source address gets a flow of its own
}

// Remote is Host:Port as the pod dials it.
func (f Forward) Remote() string { return net.JoinHostPort(f.Host, strconv.Itoa(f.Port)) }

func (f Forward) String() string {
	if f.UDP {
		return f.Local.String() + " -> " + f.Remote() + "/udp"
	}
	return f.Local.String() + " -> " + f.Remote()
}

// ParseForward reads [LOCAL_ADDR:]LOCAL_PORT:HOST:PORT[/udp], IPv6 addresses
// in brackets; LOCAL_ADDR defaults to 127.0.0.1. allowed lists the non-loopback
// local addresses the user accepted (--address), as kubectl port-forward does.
func ParseForward(spec string, allowed []string) (Forward, error) {
	usage := fmt.Errorf("-L %s: want [LOCAL_ADDR:]LOCAL_PORT:HOST:PORT[/udp], such as 5432:db:5432 or 5353:kube-dns.kube-system:53/udp", spec)
	body, udp := strings.CutSuffix(spec, "/udp")
	body, _ = strings.CutSuffix(body, "/tcp")
	parts := splitHostPorts(body)
	if len(parts) == 3 {
		parts = append([]string{"127.0.0.1"}, parts...)
	}
	if len(parts) != 4 {
		return Forward{}, usage
	}
	addr, err := netip.ParseAddr(strings.Trim(parts[0], "[]"))
	if err != nil {
		return Forward{}, fmt.Errorf("-L %s: local address %q is not an IP address", spec, parts[0])
	}
	lport, err1 := strconv.Atoi(parts[1])
	rport, err2 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || lport < 0 || lport > 65535 || rport < 1 || rport > 65535 || parts[2] == "" {
		return Forward{}, usage
	}
	if !addr.IsLoopback() && !accepted(addr, allowed) {
		return Forward{}, fmt.Errorf("-L %s: %s is not a loopback address, so anyone who reaches this machine could use the forward; add --address %s to accept that", spec, addr, addr)
	}
	return Forward{Local: netip.AddrPortFrom(addr, uint16(lport)), Host: strings.Trim(parts[2], "[]"), Port: rport, UDP: udp}, nil
}

func accepted(addr netip.Addr, allowed []string) bool {
	for _, a := range allowed {
		if p, err := netip.ParseAddr(a); err == nil && p == addr {
			return true
		}
	}
	return false
}

// splitHostPorts splits on colons outside brackets.
func splitHostPorts(s string) []string {
	var parts []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}
