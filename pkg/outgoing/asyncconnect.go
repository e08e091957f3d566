package outgoing

import (
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// A non-blocking connect returns EINPROGRESS at once, as towards any remote
// host, so a program that starts its timer after connect returns (Python,
// Java) times out when it means to. Its socket listens in place (inplace.go)
// until the pod's dial ends, then is connected to the destination's proxy,
// or to a refusing loopback port with the pod's errno shown through
// getsockopt(SO_ERROR). Blocking connects are held, then parked (park.go).

// inPlace is a socket waiting for the pod's dial, by its loopback port.
type inPlace struct {
	finishing atomic.Bool   // being taken back and connected
	done      chan struct{} // closed when its connect has ended
}

// connectInPlace starts the pod's dial for a non-blocking, unbound socket
// and answers EINPROGRESS; ok is false for any other socket.
func (h *Handler) connectInPlace(c *tracer.Call, dst netip.AddrPort) (v tracer.Verdict, ok bool) {
	fd, err := c.DupSocket()
	if err != nil {
		return v, false
	}
	keep := false
	defer func() {
		if !keep {
			unix.Close(fd)
		}
	}()
	name, err := unix.Getsockname(fd)
	if err != nil {
		return v, false
	}
	switch a := name.(type) {
	case *unix.SockaddrInet4:
		if a.Port != 0 {
			return h.stillConnecting(a.Port)
		}
	case *unix.SockaddrInet6:
		if a.Port != 0 {
			return h.stillConnecting(a.Port)
		}
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
		return v, false
	}
	p, err := h.tcpProxy(dst)
	if err != nil {
		return v, false
	}
	local := p.local(c.SockFamily)
	bound, err := listenInPlace(fd, c.SockFamily, local.Addr())
	if err != nil {
		h.log.Debug("no connect in place", zap.Stringer("dst", dst), zap.Error(err))
		return v, false // unbound still, unless listen failed: the held path binds if needed
	}
	if dst.Port() == 53 {
		h.Stats.DNSQueries.Add(1)
	}
	ip := &inPlace{done: make(chan struct{})}
	h.inPlace.Store(bound.Port(), ip)
	h.inPlaceCount.Add(1)
	keep = true
	go h.finishInPlace(c.PID, fd, c.SockFamily, dst, bound, local, p, ip)
	return tracer.Fail(unix.EINPROGRESS), true
}

// stillConnecting answers a second connect on a socket waiting in place as
// the kernel answers one on a connecting socket.
func (h *Handler) stillConnecting(port int) (tracer.Verdict, bool) {
	if _, ok := h.inPlace.Load(uint16(port)); ok {
		return tracer.Fail(unix.EALREADY), true
	}
	return tracer.Verdict{}, false
}

// finishInPlace waits for the pod's dial, then connects the socket (fd is
// our copy) to the proxy, or to a refusing port when the dial failed.
func (h *Handler) finishInPlace(pid, fd int, family uint16, dst, bound, local netip.AddrPort, p *tcpProxy, ip *inPlace) {
	defer unix.Close(fd)
	defer func() {
		h.inPlace.Delete(bound.Port())
		h.inPlaceCount.Add(-1)
		close(ip.done)
	}()
	h.Stats.Parked.Add(1)
	st, err := h.remote.Dial(dst, h.cfg.DialTimeout)
	h.Stats.Parked.Add(-1)
	src := unmap(bound)
	to := local
	if err != nil {
		h.log.Debug("connect from the pod failed (in place)", zap.Int("pid", pid), zap.Stringer("dst", dst), zap.Error(err))
		h.Stats.Refused.Add(1)
		if errno := dialErrno(err); errno != unix.ECONNREFUSED {
			h.parkFailed.Store(bound.Port(), errno)
			time.AfterFunc(pendingTTL, func() { h.parkFailed.CompareAndDelete(bound.Port(), errno) })
		}
		refuser, rerr := h.refuser(local.Addr())
		if rerr != nil {
			h.log.Warn("no refusing port", zap.Error(rerr))
			return // the socket stays listening: the program's timeout ends it
		}
		to = refuser
	} else {
		h.Stats.Connections.Add(1)
		if st.Local.IsValid() {
			h.podLocal.Store(src.Port(), st.Local)
		}
		p.offer(src, st)
	}
	ip.finishing.Store(true)
	err = reconnect(fd, family, to)
	h.log.Debug("connect in place ended", zap.Int("pid", pid), zap.Stringer("dst", dst), zap.Stringer("to", to), zap.Error(err))
}

// refuser is a loopback address and port where every connect is refused,
// on the loopback address at (127.0.0.1 or ::1).
func (h *Handler) refuser(at netip.Addr) (netip.AddrPort, error) {
	at = at.Unmap()
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.refusers[at]; ok {
		return r.port, nil
	}
	fd, port, err := boundSocket(at)
	if err != nil {
		return netip.AddrPort{}, err
	}
	r := refuser{fd: fd, port: netip.AddrPortFrom(at, port)}
	h.refusers[at] = r
	return r.port, nil
}

// refuser: a bound socket that never listens holds a port that refuses.
type refuser struct {
	fd   int
	port netip.AddrPort
}

// heldSoError holds a getsockopt(SO_ERROR) on a socket being taken back
// from listening until its connect has ended: meanwhile it polls writable
// and hung up, and would read as connected.
func (h *Handler) heldSoError(c *tracer.Call, port uint16, then tracer.Verdict) (tracer.Verdict, bool) {
	v, ok := h.inPlace.Load(port)
	if !ok || !v.(*inPlace).finishing.Load() {
		return then, false
	}
	go func() {
		<-v.(*inPlace).done
		c.Resume(then)
	}()
	return tracer.Hold(), true
}
