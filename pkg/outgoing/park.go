package outgoing

import (
	"net"
	"net/netip"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
)

// A connect whose pod dial has not ended is parked, so the program's own
// connect timeout can win: its socket is pointed at a loopback listener
// whose accept queue is full, so its SYN is dropped and the socket stays
// connecting, as towards a slow server (a non-blocking connect says
// EINPROGRESS and polls as not yet writable; a blocking one waits in the
// kernel, where SO_SNDTIMEO and signals end it). A non-blocking connect is
// parked at once, so a timer started after connect returns (Python, Java)
// runs from the call's start; a blocking one after parkAfter.
//
// When the pod's dial succeeds, a socket bound to the park's own port
// (SO_REUSEPORT) connects to the program's: the crossed SYNs make a TCP
// simultaneous open, and the program's socket goes from connecting to
// connected without any state between (it never polls hung up), at once.
// When the dial fails, the program's socket is aborted (connect AF_UNSPEC
// on a copy): it fails with ECONNRESET in one step, which the handler shows
// as the pod's errno.
//
// parkAfter: a blocking connect is held this long first, so that a fast
// dial answers it without parking.
const parkAfter = 500 * time.Millisecond

// park is the listener the parked connects to one destination wait on: its
// queue stays full for its life, and each is joined from its port.
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
	// The joining socket (join) binds the same port.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		unix.Close(fd)
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

// join connects a socket of the park's port to the program's parked socket
// at src (a simultaneous open) and joins it to st.
func (pk *park) join(src netip.AddrPort, st netpipe.HalfCloser, stats *Stats) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), "join")
	defer f.Close()
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: pk.addr.Addr().As4(), Port: int(pk.addr.Port())}); err != nil {
		return err
	}
	err = unix.Connect(fd, &unix.SockaddrInet4{Addr: src.Addr().Unmap().As4(), Port: int(src.Port())})
	if err != nil && err != unix.EINPROGRESS {
		return err // the program's socket is gone: nothing there answers
	}
	if err := waitConnected(fd, 5*time.Second); err != nil {
		return err
	}
	c, err := net.FileConn(f)
	if err != nil {
		return err
	}
	netpipe.Join(c.(*net.TCPConn), st, &stats.BytesOut, &stats.BytesIn)
	return nil
}

// waitConnected waits for a non-blocking connect on fd to end.
func waitConnected(fd int, d time.Duration) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(fds, int(d/time.Millisecond))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return unix.ETIMEDOUT
		}
		break
	}
	soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if soErr != 0 {
		return unix.Errno(soErr)
	}
	return nil
}

// abort ends the parked connect of the program's socket (fd is a copy):
// connect(AF_UNSPEC) on a connecting socket sets ECONNRESET and closes it
// in one step; a non-blocking connect then polls writable with that error,
// a blocking one returns EPIPE.
func abort(fd int) error {
	var sa [16]byte // sa_family AF_UNSPEC (0)
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
	if e != 0 {
		return e
	}
	return nil
}

// waitSent waits (up to d) until the program's socket (fd is a copy) has
// sent its SYN, so that a join or an abort finds it connecting.
func waitSent(fd int, d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Microsecond) {
		info, err := unix.GetsockoptTCPInfo(fd, unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil || info.State == tcpSynSent {
			return
		}
	}
}

// tcpSynSent is TCP_SYN_SENT in TCP_INFO's state.
const tcpSynSent = 2

// close ends the listener: a SYN the program sends again is refused.
func (pk *park) close() {
	pk.ln.Close()
	for _, c := range pk.fillers {
		c.Close()
	}
}
