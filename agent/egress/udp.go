package egress

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// udpIdle ends a UDP flow nobody used for this long.
const udpIdle = 30 * time.Second

// ServeUDP relays datagrams between the stream and a UDP socket connected
// from the pod to the destination, so replies come from the address asked.
func ServeUDP(st io.ReadWriteCloser, req protocol.Request) {
	raddr, err := net.ResolveUDPAddr("udp", req.Address)
	if err != nil {
		_ = protocol.Write(st, protocol.ErrorResponse(err))
		return
	}
	c, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		_ = protocol.Write(st, protocol.ErrorResponse(err))
		return
	}
	defer c.Close()
	if err := protocol.Write(st, protocol.Response{}); err != nil {
		return
	}
	var dns *dnsResender
	if raddr.Port == 53 {
		dns = newDNSResender(c)
		defer dns.stop()
	}
	go func() {
		defer st.Close()
		buf := make([]byte, protocol.MaxDatagram)
		for {
			_ = c.SetReadDeadline(time.Now().Add(udpIdle))
			n, err := c.Read(buf)
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue // an ICMP port unreachable surfaces here: keep the flow
			}
			if err != nil {
				return // idle, or the socket closed when the stream ended
			}
			if dns != nil {
				dns.answered(buf[:n])
			}
			if protocol.WriteDatagram(st, buf[:n]) != nil {
				return
			}
		}
	}()
	buf := make([]byte, protocol.MaxDatagram)
	for {
		n, err := protocol.ReadDatagram(st, buf)
		if err != nil {
			return
		}
		if dns != nil {
			dns.sent(buf[:n])
		}
		_, _ = c.Write(buf[:n])
	}
}
