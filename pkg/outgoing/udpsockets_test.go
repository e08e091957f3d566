package outgoing

import (
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/procnet"
)

// A socket of this process is found at its address with its inode.
func TestUDPSocketsFindsASocketByAddress(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := os.Stat("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	want := fi.Sys().(*syscall.Stat_t).Ino
	ap := netip.MustParseAddrPort(c.LocalAddr().String())
	if got := udpSockets()[ap]; got != want {
		t.Fatalf("inode at %s: got %d, want %d", ap, got, want)
	}
	if ap6, ok := procnet.ParseAddr("00000000000000000000000001000000:0035"); !ok || ap6.String() != "[::1]:53" {
		t.Fatalf("v6 parse: %v %v", ap6, ok)
	}
}

// A port the program's socket let go and another socket took is not the
// program's: no flow is opened for it, and the registration ends.
func TestUDPRegistrationEndsWithItsSocket(t *testing.T) {
	p, err := newUDPProxy(netip.MustParseAddrPort("10.96.0.10:53"), nil, &Stats{}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	prog, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort(prog.LocalAddr().String())
	p.allow(src, udpSockets()[src])
	if !p.known(src) {
		t.Fatal("the registered program socket is not known")
	}
	prog.Close()
	stranger, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(src))
	if err != nil {
		testenv.Skip(t, "could not take the freed port: "+err.Error())
	}
	defer stranger.Close()
	if p.known(src) {
		t.Fatal("a stranger's socket on the program's old port was taken for the program's")
	}
	testenv.Eventually(t, 10*time.Second, func() bool { // a sweep every sweepEvery
		p.mu.Lock()
		defer p.mu.Unlock()
		_, still := p.allowed[src]
		return !still
	}, func() string { return "the registration outlived its socket" })
}
