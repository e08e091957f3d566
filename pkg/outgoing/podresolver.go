package outgoing

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// resolvConf is what the pod's /etc/resolv.conf says.
type resolvConf struct {
	nameservers []netip.Addr
	search      []string
}

func parseResolvConf(b []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if a, err := netip.ParseAddr(f[1]); err == nil {
				rc.nameservers = append(rc.nameservers, a)
			}
		case "search":
			rc.search = f[1:]
		}
	}
	return rc
}

// PodLookup resolves host names as the pod would (the first nameserver and
// the search domains of its /etc/resolv.conf, given), through remote: for
// --remote rules that name hosts.
func PodLookup(remote Remote, resolvConf []byte) func(context.Context, string) ([]netip.Addr, error) {
	rc := parseResolvConf(resolvConf)
	return func(ctx context.Context, host string) ([]netip.Addr, error) { return podLookup(ctx, remote, rc, host) }
}

func podLookup(ctx context.Context, sess Remote, rc resolvConf, host string) ([]netip.Addr, error) {
	if len(rc.nameservers) == 0 {
		return nil, fmt.Errorf("the pod's /etc/resolv.conf names no nameserver")
	}
	ns := netip.AddrPortFrom(rc.nameservers[0], 53)
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		if strings.HasPrefix(network, "udp") {
			st, err := sess.UDP(ns)
			if err != nil {
				return nil, err
			}
			return &datagramConn{Stream: st}, nil
		}
		return sess.Dial(ns, 5*time.Second)
	}}
	candidates := []string{host}
	if !strings.HasSuffix(host, ".") {
		candidates = nil
		for _, s := range rc.search {
			candidates = append(candidates, host+"."+s+".")
		}
		candidates = append(candidates, host+".")
	}
	var lastErr error
	for _, name := range candidates {
		addrs, err := r.LookupNetIP(ctx, "ip", name)
		if err == nil && len(addrs) > 0 {
			return addrs, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("resolve %s in the pod: %w", host, lastErr)
}

// datagramConn is a udp stream as a net.PacketConn, so Go's resolver treats
// it as UDP (one message per read and write).
type datagramConn struct{ *session.Stream }

func (d *datagramConn) Read(b []byte) (int, error) {
	buf := make([]byte, protocol.MaxDatagram)
	n, err := protocol.ReadDatagram(d.Stream, buf)
	return copy(b, buf[:n]), err
}

func (d *datagramConn) Write(b []byte) (int, error) {
	return len(b), protocol.WriteDatagram(d.Stream, b)
}

func (d *datagramConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, err := d.Read(b)
	return n, d.RemoteAddr(), err
}

func (d *datagramConn) WriteTo(b []byte, _ net.Addr) (int, error) { return d.Write(b) }
