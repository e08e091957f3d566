// Command meshproxy stands in for a service mesh's sidecar proxy (Envoy for Istio,
// linkerd2-proxy for Linkerd) in the test cluster's meshed pods: a transparent TCP
// proxy on the ports the mesh's iptables rules redirect to, forwarding every
// connection to its original destination. It runs as the mesh proxy's uid, which
// those rules exclude, so its own connections leave without being redirected again.
// It logs one line per connection so a test can tell traffic crossed the "mesh".
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	outbound := flag.Int("outbound", 15001, "port the mesh redirects the pod's outgoing connections to")
	inbound := flag.Int("inbound", 15006, "port the mesh redirects the pod's incoming connections to")
	inboundSource := flag.String("inbound-source", "", "local address inbound forwards leave from (Istio's 127.0.0.6, which its rules let through)")
	flag.Parse()
	logger := log.New(os.Stdout, "", log.LstdFlags|log.Lmicroseconds)
	var src net.Addr
	if *inboundSource != "" {
		src = &net.TCPAddr{IP: net.ParseIP(*inboundSource)}
	}
	errs := make(chan error, 2)
	go func() { errs <- serve(logger, "outbound", *outbound, nil) }()
	go func() { errs <- serve(logger, "inbound", *inbound, src) }()
	logger.Fatal(<-errs)
}

// serve accepts redirected connections on port and forwards each to where its
// client meant it to go.
func serve(logger *log.Logger, direction string, port int, source net.Addr) error {
	ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return err
	}
	logger.Printf("%s listening on %d", direction, port)
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go forward(logger, direction, c.(*net.TCPConn), source)
	}
}

func forward(logger *log.Logger, direction string, c *net.TCPConn, source net.Addr) {
	defer c.Close()
	dst, err := originalDestination(c)
	if err != nil {
		logger.Printf("%s from %s: %v", direction, c.RemoteAddr(), err)
		return
	}
	d := net.Dialer{LocalAddr: source, Timeout: 10 * time.Second}
	up, err := d.Dial("tcp", dst.String())
	if err != nil {
		logger.Printf("%s %s from %s: %v", direction, dst, c.RemoteAddr(), err)
		return
	}
	defer up.Close()
	logger.Printf("%s %s from %s", direction, dst, c.RemoteAddr())
	var wg sync.WaitGroup
	wg.Add(2)
	go pipe(&wg, up.(*net.TCPConn), c)
	go pipe(&wg, c, up.(*net.TCPConn))
	wg.Wait()
}

// pipe copies one direction and passes the half-close on, as Envoy's TCP proxy does.
func pipe(wg *sync.WaitGroup, dst, src *net.TCPConn) {
	defer wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.CloseWrite()
}

// originalDestination reads SO_ORIGINAL_DST: where the client connected before the
// mesh's REDIRECT rule sent it here.
func originalDestination(c *net.TCPConn) (netip.AddrPort, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var dst netip.AddrPort
	var serr error
	err = raw.Control(func(fd uintptr) {
		const soOriginalDst = 80
		// A sockaddr_in read through a struct of at least its 16 bytes (the test
		// cluster's pod network is IPv4 only).
		m, err := unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, soOriginalDst)
		if err != nil {
			serr = err
			return
		}
		ip := netip.AddrFrom4([4]byte(m.Multiaddr[4:8]))
		dst = netip.AddrPortFrom(ip, binary.BigEndian.Uint16(m.Multiaddr[2:4]))
	})
	if err != nil {
		return dst, err
	}
	return dst, serr
}
