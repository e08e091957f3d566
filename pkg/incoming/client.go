package incoming

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// The program accepts each handed-over connection from the plugin, on
// loopback. So that accept() and getpeername() name the pod's client
// instead, the plugin's socket is bound to its port before it connects, and
// that port is remembered with the client's address while the connection
// lives.

// dialProgram connects to the program's port from a loopback port that is
// registered for client before the program can accept the connection.
// accepted closes when the program's accept returns the connection.
func (m *Manager) dialProgram(local int, client netip.AddrPort, accepted chan struct{}) (*net.TCPConn, func(), error) {
	var port uint16
	d := net.Dialer{ControlContext: func(_ context.Context, network, _ string, rc syscall.RawConn) error {
		var err error
		cerr := rc.Control(func(fd uintptr) {
			var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
			if network == "tcp6" {
				sa = &unix.SockaddrInet6{Addr: netip.IPv6Loopback().As16()}
			}
			if err = unix.Bind(int(fd), sa); err != nil {
				return
			}
			var bound unix.Sockaddr
			if bound, err = unix.Getsockname(int(fd)); err == nil {
				switch b := bound.(type) {
				case *unix.SockaddrInet4:
					port = uint16(b.Port)
				case *unix.SockaddrInet6:
					port = uint16(b.Port)
				}
				m.clients.Store(port, client)
				m.taken.Store(port, accepted)
			}
		})
		if cerr != nil {
			return cerr
		}
		return err
	}}
	forget := func() {
		if port != 0 {
			m.clients.Delete(port)
			m.taken.CompareAndDelete(port, accepted)
		}
	}
	for _, addr := range []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(local)), net.JoinHostPort("::1", strconv.Itoa(local))} {
		c, err := d.Dial("tcp", addr)
		if err == nil {
			return c.(*net.TCPConn), forget, nil
		}
		forget()
		port = 0
	}
	return nil, func() {}, errNoListener
}

// errNoListener: the program's port took no connection.
var errNoListener = errors.New("the program does not accept on its port")

// Accepted is the AtExit fix-up of accept: RestoreClient, and the word
// that the program took the handed-over connection.
func (m *Manager) Accepted(e *tracer.Exit) {
	got, ok := e.AcceptedPeer()
	if !ok || !got.Addr().Unmap().IsLoopback() {
		return
	}
	if ch, ok := m.taken.LoadAndDelete(got.Port()); ok {
		close(ch.(chan struct{}))
	}
	m.RestoreClient(e)
}

// RestoreClient is an AtExit fix-up for accept and getpeername: a peer that
// is one of the plugin's handed-over connections is shown as the client the
// pod saw.
func (m *Manager) RestoreClient(e *tracer.Exit) {
	got, ok := e.ResultAddr()
	if !ok || !got.Addr().Unmap().IsLoopback() {
		return
	}
	if client, ok := m.clients.Load(got.Port()); ok {
		e.SetResultAddr(client.(netip.AddrPort))
	}
}
