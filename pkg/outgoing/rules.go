// Package outgoing carries the traced program's connections and datagrams to
// the agent, which makes them from the pod: per destination, a loopback proxy
// that the program's connect/sendto is redirected to, and an smux stream per
// connection or UDP flow.
package outgoing

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Rule picks destinations: by prefix, by port, or both ("10.0.0.0/8",
// "10.1.2.3", ":5432", "10.0.0.0/8:443"). Host names are resolved into
// prefixes before a Rule is built.
type Rule struct {
	Prefix netip.Prefix // invalid: any address
	Port   uint16       // 0: any port
}

func (r Rule) match(dst netip.AddrPort) bool {
	if r.Port != 0 && dst.Port() != r.Port {
		return false
	}
	return !r.Prefix.IsValid() || r.Prefix.Contains(dst.Addr())
}

func (r Rule) String() string {
	switch {
	case !r.Prefix.IsValid():
		return ":" + strconv.Itoa(int(r.Port))
	case r.Port == 0:
		return r.Prefix.String()
	}
	return r.Prefix.String() + ":" + strconv.Itoa(int(r.Port))
}

// Rules decide where a destination goes. Loopback and unspecified addresses
// always stay local; then Local rules keep a destination local; then, when
// Remote rules exist, only what they match goes remote; else everything does.
type Rules struct {
	Local  []Rule
	Remote []Rule
}

// IsRemote reports whether dst goes through the pod.
func (rs Rules) IsRemote(dst netip.AddrPort) bool {
	a := dst.Addr().Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsUnspecified() {
		return false
	}
	dst = netip.AddrPortFrom(a, dst.Port())
	for _, r := range rs.Local {
		if r.match(dst) {
			return false
		}
	}
	if len(rs.Remote) == 0 {
		return true
	}
	for _, r := range rs.Remote {
		if r.match(dst) {
			return true
		}
	}
	return false
}

// HostRule is a --local/--remote value naming a host, resolved once the
// session is up. From says where the value was given (`--local "db"`, a
// project file's line and key), so that a name that does not resolve, found
// long after the flags were read, is reported where the user can fix it.
type HostRule struct {
	Host string
	Port uint16
	From string // empty: the host is named alone
}

// from is how a failure to resolve h names it.
func (h HostRule) from() string {
	if h.From != "" {
		return h.From
	}
	return strconv.Quote(h.Host)
}

// ResolveHosts turns host rules into address rules with lookup (run:
// --local names with this machine's resolver, --remote names with the
// pod's; trace: this machine's for both).
func ResolveHosts(ctx context.Context, hosts []HostRule, lookup func(context.Context, string) ([]netip.Addr, error)) ([]Rule, error) {
	var rules []Rule
	for _, h := range hosts {
		addrs, err := lookup(ctx, h.Host)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.from(), err)
		}
		for _, a := range addrs {
			a = a.Unmap()
			rules = append(rules, Rule{Prefix: netip.PrefixFrom(a, a.BitLen()), Port: h.Port})
		}
	}
	return rules, nil
}

// Resolve adds host rules to rs: local names resolved with here, remote
// names with pod (nil when there are none to resolve).
func (rs Rules) Resolve(ctx context.Context, local, remote []HostRule, here, pod func(context.Context, string) ([]netip.Addr, error)) (Rules, error) {
	l, err := ResolveHosts(ctx, local, here)
	if err != nil {
		return rs, err
	}
	r, err := ResolveHosts(ctx, remote, pod)
	if err != nil {
		return rs, err
	}
	rs.Local, rs.Remote = append(rs.Local, l...), append(rs.Remote, r...)
	return rs, nil
}

// LookupHere resolves with this machine's resolver.
func LookupHere(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// ParseRule reads one --local/--remote value. A value that is not an address,
// prefix or port is returned as host (with its port, if any) for the caller to
// resolve.
func ParseRule(s string) (r Rule, host string, err error) {
	if strings.HasPrefix(s, ":") {
		p, err := parsePort(s[1:])
		return Rule{Port: p}, "", err
	}
	addrPart, portPart := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 && strings.Count(s, ":") == 1 {
		addrPart, portPart = s[:i], s[i+1:]
	} else if strings.HasPrefix(s, "[") {
		if end := strings.Index(s, "]"); end > 0 {
			addrPart, portPart = s[1:end], strings.TrimPrefix(s[end+1:], ":")
		}
	}
	if portPart != "" {
		if r.Port, err = parsePort(portPart); err != nil {
			return r, "", err
		}
	}
	if p, err := netip.ParsePrefix(addrPart); err == nil {
		r.Prefix = p.Masked()
		return r, "", nil
	}
	if a, err := netip.ParseAddr(addrPart); err == nil {
		r.Prefix = netip.PrefixFrom(a, a.BitLen())
		return r, "", nil
	}
	if addrPart == "" || strings.ContainsAny(addrPart, "/ ") {
		return r, "", fmt.Errorf("%q: use a CIDR (10.0.0.0/8), an address, a host name or :PORT, optionally with :PORT", s)
	}
	return r, addrPart, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%q is not a port (1-65535)", s)
	}
	return uint16(n), nil
}
