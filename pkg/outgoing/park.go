package outgoing

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
)

// A blocking connect whose pod dial has not ended after parkAfter is parked
// (non-blocking ones return at once: asyncconnect.go), so the program's own
// connect timeout can win: its socket is pointed at a loopback
// listener whose accept queue is full, so its SYN is dropped and the socket
// stays connecting, as towards a slow server (a non-blocking connect says
// EINPROGRESS and polls as not yet writable; a blocking one waits in the
// kernel, where SO_SNDTIMEO and signals end it). When the pod's dial
// succeeds the queue is emptied and the program's next SYN (TCP retries at
// 1, 3, 7 s ... after the first) is taken and joined to the pod's stream;
// when it fails the listener closes and that SYN is refused.
//
// parkAfter weighs two costs: a timer that starts after connect returns or
// runs in the kernel (SO_SNDTIMEO) ends up to parkAfter late, and a dial slower
// than parkAfter that succeeds completes at the program's next SYN
// retransmission (1 s after the first, then 3 s, 7 s, ...).
const parkAfter = 500 * time.Millisecond

// park is the listener one parked connect waits on.
type park struct {
	ln      *net.TCPListener
	addr    netip.AddrPort
	fillers []net.Conn // what fills the accept queue
}

// newPark listens on a new loopback port with a backlog of 1 and fills the
// queue with two connections of its own (the kernel queues backlog+1).
func newPark() (*park, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "park")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	pk := &park{ln: l.(*net.TCPListener), addr: l.Addr().(*net.TCPAddr).AddrPort()}
	for range 2 {
		c, err := net.DialTimeout("tcp4", pk.addr.String(), time.Second)
		if err != nil {
			pk.close()
			return nil, err
		}
		pk.fillers = append(pk.fillers, c)
	}
	return pk, nil
}

// errNotProgram: the connection that came is not the parked socket's.
var errNotProgram = errors.New("a connection that is not the program's")

// release empties the queue and joins the program's connection from src,
// when its SYN comes again, to st.
func (pk *park) release(src netip.AddrPort, st netpipe.HalfCloser, stats *Stats) error {
	defer pk.close()
	for range pk.fillers {
		if c, err := pk.ln.Accept(); err == nil {
			c.Close()
		}
	}
	_ = pk.ln.SetDeadline(time.Now().Add(pendingTTL))
	c, err := pk.ln.AcceptTCP()
	if err != nil {
		return err
	}
	if unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()) != src {
		stats.Strangers.Add(1)
		_ = c.SetLinger(0)
		c.Close()
		return errNotProgram
	}
	netpipe.Join(c, st, &stats.BytesOut, &stats.BytesIn)
	return nil
}

// close ends the listener: a SYN the program sends again is refused.
func (pk *park) close() {
	pk.ln.Close()
	for _, c := range pk.fillers {
		c.Close()
	}
}
