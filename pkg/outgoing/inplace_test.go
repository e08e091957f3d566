package outgoing

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var loopback4 = netip.MustParseAddr("127.0.0.1")

// nonblockingSocket is an unbound non-blocking TCP socket of the family.
func nonblockingSocket(t *testing.T, family int) int {
	t.Helper()
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// While in place, a socket looks connecting: not writable, not hung up, no
// peer; once reconnected to a listener it is connected from the same port.
func TestInPlaceLooksConnectingThenConnects(t *testing.T) {
	for _, family := range []int{unix.AF_INET, unix.AF_INET6} {
		fd := nonblockingSocket(t, family)
		bound, err := listenInPlace(fd, uint16(family), loopback4)
		if err != nil {
			t.Fatal(err)
		}
		if got := waitWritable(fd, 200*time.Millisecond); got != -1 {
			t.Fatalf("family %d: a socket in place polled writable (SO_ERROR %d)", family, got)
		}
		if _, err := unix.Getpeername(fd); err != unix.ENOTCONN {
			t.Fatalf("family %d: getpeername in place: %v, want ENOTCONN", family, err)
		}
		ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		err = reconnect(fd, uint16(family), ln.Addr().(*net.TCPAddr).AddrPort())
		if soErr := waitWritable(fd, 0); err != nil || soErr != 0 {
			t.Fatalf("family %d: reconnect: SO_ERROR %v, %v", family, soErr, err)
		}
		c, err := ln.AcceptTCP()
		if err != nil {
			t.Fatal(err)
		}
		if from := unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()); from != bound {
			t.Fatalf("family %d: the connection came from %v, want the bound %v", family, from, bound)
		}
		if _, err := unix.Write(fd, []byte("x")); err != nil {
			t.Fatalf("family %d: write after reconnect: %v", family, err)
		}
		c.Close()
	}
}

// Reconnected to a refuser, the socket polls writable with SO_ERROR
// ECONNREFUSED, left for the program to read.
func TestInPlaceRefused(t *testing.T) {
	fd := nonblockingSocket(t, unix.AF_INET)
	if _, err := listenInPlace(fd, unix.AF_INET, loopback4); err != nil {
		t.Fatal(err)
	}
	rfd, port, err := boundSocket(loopback4)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(rfd)
	err = reconnect(fd, unix.AF_INET, netip.AddrPortFrom(loopback4, port))
	if soErr := waitWritable(fd, 0); err != nil || soErr != int(unix.ECONNREFUSED) {
		t.Fatalf("reconnect to a refuser: SO_ERROR %v, %v; want ECONNREFUSED", soErr, err)
	}
}

// Another local process that connects to a socket in place, and says
// something, is reset when the socket is taken back and gets nothing of what
// the socket is then connected to; that end sees only the socket's own
// connection.
func TestInPlaceStrangerGetsNothing(t *testing.T) {
	fd := nonblockingSocket(t, unix.AF_INET)
	bound, err := listenInPlace(fd, unix.AF_INET, loopback4)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp4", bound.String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := reconnect(fd, unix.AF_INET, ln.Addr().(*net.TCPAddr).AddrPort()); err != nil {
		t.Fatal(err)
	}
	got, err := ln.AcceptTCP()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if from := unmap(got.RemoteAddr().(*net.TCPAddr).AddrPort()); from != bound {
		t.Fatalf("the listener's connection came from %v, want the socket's %v", from, bound)
	}
	_, _ = got.Write([]byte("for the program only"))
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(make([]byte, 100)); n != 0 || err == nil {
		t.Fatalf("the stranger read %d bytes (%v)", n, err)
	}
	b := make([]byte, 100)
	_, _ = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 2000)
	if n, _ := unix.Read(fd, b); string(b[:max(n, 0)]) != "for the program only" {
		t.Fatalf("the socket read %q", b[:max(n, 0)])
	}
}
