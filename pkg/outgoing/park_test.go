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

// A parked connect stays connecting (not writable, no error) until release,
// then completes and carries bytes both ways to the pod's stream.
func TestParkedConnectCompletesOnRelease(t *testing.T) {
	pk, err := newPark()
	if err != nil {
		t.Fatal(err)
	}
	fd, src := connectNonblocking(t, pk.addr)
	if got := waitWritable(fd, 300*time.Millisecond); got != -1 {
		t.Fatalf("a parked connect ended before release (SO_ERROR %d)", got)
	}
	pod, podEnd := tcpPair(t)
	go func() { _ = pk.release(src, pod, &Stats{}) }()
	if got := waitWritable(fd, 10*time.Second); got != 0 {
		t.Fatalf("released connect: SO_ERROR %d, want connected", got)
	}
	if _, err := unix.Write(fd, []byte("ping\n")); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(podEnd).ReadString('\n'); err != nil || line != "ping\n" {
		t.Fatalf("the pod's side read %q, %v", line, err)
	}
}

// A parked connect whose dial failed is refused at the next SYN.
func TestParkedConnectIsRefusedOnClose(t *testing.T) {
	pk, err := newPark()
	if err != nil {
		t.Fatal(err)
	}
	fd, _ := connectNonblocking(t, pk.addr)
	pk.close()
	if got := waitWritable(fd, 10*time.Second); got != int(unix.ECONNREFUSED) {
		t.Fatalf("SO_ERROR %d, want ECONNREFUSED", got)
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
