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
	for _, tables := range []bool{false, true} {
		t.Run(map[bool]string{false: "sock_diag", true: "tables"}[tables], func(t *testing.T) { testRegistrationEndsWithItsSocket(t, tables) })
	}
}

func testRegistrationEndsWithItsSocket(t *testing.T, tablesOnly bool) {
	p, err := newUDPProxy(netip.MustParseAddrPort("10.96.0.10:53"), nil, &Stats{}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	p.tablesOnly = tablesOnly
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

// Where sockets are found by reading the tables, which can skip a live
// socket's row, one sweep that misses it does not end its registration:
// a live socket's registration outlasts many sweeps, and a closed one's
// ends at the second.
func TestUDPRegistrationOutlivesOneMissedRead(t *testing.T) {
	p, err := newUDPProxy(netip.MustParseAddrPort("10.96.0.10:53"), nil, &Stats{}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	p.close() // its own sweeps stop: this test makes them
	p.tablesOnly = true
	prog, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	src := netip.MustParseAddrPort(prog.LocalAddr().String())
	ino := udpSockets()[src]
	p.mu.Lock()
	p.allowed[src] = registration{ino: ino, at: time.Now().Add(-time.Second), missed: false}
	gone := netip.AddrPortFrom(src.Addr(), 1) // no socket: as a skipped row looks
	p.allowed[gone] = registration{ino: 12345, at: time.Now().Add(-time.Second)}
	p.mu.Unlock()
	state := func() (live, missed, goneLeft bool) {
		p.mu.Lock()
		defer p.mu.Unlock()
		_, live = p.allowed[src]
		g, goneLeft := p.allowed[gone]
		return live, g.missed, goneLeft
	}
	p.sweepRegistrations()
	if live, missed, left := state(); !live || !left || !missed {
		t.Fatalf("after one sweep: live socket kept %v; unseen socket kept %v, marked %v; want both kept, the unseen marked", live, left, missed)
	}
	for range 5 {
		p.sweepRegistrations()
	}
	if live, _, left := state(); !live || left {
		t.Fatalf("after more sweeps: live socket kept %v, unseen kept %v; want the live one alone", live, left)
	}
}
