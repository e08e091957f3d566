package outgoing

import (
	"bufio"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// connectNonblocking starts a connect to addr and returns the socket.
func connectNonblocking(t *testing.T, addr netip.AddrPort) (int, netip.AddrPort) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: addr.Addr().As4(), Port: int(addr.Port())}); err != unix.EINPROGRESS {
		t.Fatalf("connect to a parked port: %v, want EINPROGRESS", err)
	}
	sa, _ := unix.Getsockname(fd)
	return fd, netip.AddrPortFrom(netip.AddrFrom4(sa.(*unix.SockaddrInet4).Addr), uint16(sa.(*unix.SockaddrInet4).Port))
}

// waitWritable polls fd for writability for up to d; it returns SO_ERROR
// once writable, or -1.
func waitWritable(fd int, d time.Duration) int {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	if n, _ := unix.Poll(fds, int(d/time.Millisecond)); n == 0 {
		return -1
	}
	soErr, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	return soErr
}

// A parked connect stays connecting (not writable, no error) until the
// dial succeeds, then is joined at once (no SYN retransmission waited for),
// connected to the park's port, and carries bytes both ways.
func TestParkedConnectIsJoinedAtOnce(t *testing.T) {
	pk, err := newPark()
	if err != nil {
		t.Fatal(err)
	}
	defer pk.close()
	other, otherSrc := connectNonblocking(t, pk.addr) // the park is shared
	fd, src := connectNonblocking(t, pk.addr)
	if got := waitWritable(fd, 300*time.Millisecond); got != -1 {
		t.Fatalf("a parked connect ended before the dial did (SO_ERROR %d)", got)
	}
	pod, podEnd := tcpPair(t)
	joined := make(chan error, 1)
	go func() { joined <- pk.join(src, pod, &Stats{}) }()
	// Well before the program's SYN retransmission (1 s after the first).
	if got := waitWritable(fd, 500*time.Millisecond); got != 0 {
		t.Fatalf("joined connect: SO_ERROR %d, want connected at once", got)
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	if _, _ = unix.Poll(fds, 0); fds[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
		t.Fatalf("the joined socket polls %#x", fds[0].Revents)
	}
	peer, err := unix.Getpeername(fd)
	if err != nil || peer.(*unix.SockaddrInet4).Port != int(pk.addr.Port()) {
		t.Fatalf("peer %v, %v; want the park's port %d", peer, err, pk.addr.Port())
	}
	if _, err := unix.Write(fd, []byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(podEnd).ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("the pod's side read %q, %v", line, err)
	}
	podEnd.Close()
	unix.Shutdown(fd, unix.SHUT_WR)
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	if got := waitWritable(other, 0); got != -1 {
		t.Fatalf("the other connect on the park ended too (SO_ERROR %d)", got)
	}
	pod2, _ := tcpPair(t)
	go func() { _ = pk.join(otherSrc, pod2, &Stats{}) }()
	if got := waitWritable(other, 500*time.Millisecond); got != 0 {
		t.Fatalf("the second connect on the park: SO_ERROR %d, want connected", got)
	}
}

// A parked connect whose dial failed ends at once with ECONNRESET, which
// the handler shows as the pod's errno.
func TestParkedConnectIsAborted(t *testing.T) {
	pk, err := newPark()
	if err != nil {
		t.Fatal(err)
	}
	defer pk.close()
	fd, _ := connectNonblocking(t, pk.addr)
	waitSent(fd, time.Second)
	if err := abort(fd); err != nil {
		t.Fatal(err)
	}
	if got := waitWritable(fd, 0); got != int(unix.ECONNRESET) {
		t.Fatalf("SO_ERROR %d, want ECONNRESET", got)
	}
}

// Nothing joins a socket that is gone: join fails and the stream is the
// caller's to close.
func TestParkJoinWithoutTheProgram(t *testing.T) {
	pk, err := newPark()
	if err != nil {
		t.Fatal(err)
	}
	defer pk.close()
	fd, src := connectNonblocking(t, pk.addr)
	unix.Close(fd)
	pod, _ := tcpPair(t)
	if err := pk.join(src, pod, &Stats{}); err == nil {
		t.Fatal("joined a socket that was closed")
	}
}

// tcpPair is two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	a, err := net.DialTCP("tcp4", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// An AF_INET6 socket parked at the IPv4-mapped park address is joined too.
func TestParkedIPv6SocketIsJoined(t *testing.T) {
	pk, err := newPark()
	if err != nil {
		t.Fatal(err)
	}
	defer pk.close()
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skip("no IPv6 here:", err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet6{}); err != nil {
		t.Fatal(err)
	}
	mapped := netip.AddrPortFrom(netip.AddrFrom16(pk.addr.Addr().As16()), pk.addr.Port())
	if err := unix.Connect(fd, &unix.SockaddrInet6{Addr: mapped.Addr().As16(), Port: int(mapped.Port())}); err != unix.EINPROGRESS {
		t.Fatalf("connect: %v, want EINPROGRESS", err)
	}
	sa, _ := unix.Getsockname(fd)
	src := expectedSource(netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(sa.(*unix.SockaddrInet6).Port)), pk.addr)
	pod, _ := tcpPair(t)
	go func() { _ = pk.join(src, pod, &Stats{}) }()
	if got := waitWritable(fd, 500*time.Millisecond); got != 0 {
		t.Fatalf("joined IPv6 socket: SO_ERROR %d, want connected", got)
	}
}
