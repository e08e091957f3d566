package portforward

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// A UDP forward gives each local source address (a client's socket) a flow
// of its own: a stream to a UDP socket the agent connects from the pod to
// HOST:PORT, so replies come back to the client that asked.

// udpIdle ends a flow after this long with no datagram either way (the
// agent ends its side 30 s after the last reply on its own).
const udpIdle = time.Minute

// udpQueue bounds the datagrams a flow holds while it opens; more are
// dropped, as a full socket buffer would drop them.
const udpQueue = 64

type udpFlow struct {
	out  chan []byte
	done chan struct{}
	once sync.Once
	last atomic.Int64 // unix nanoseconds of the last datagram either way
}

// serveUDP reads pc until it is closed, handing each datagram to its
// source's flow.
func serveUDP(d Dialer, f Forward, pc *net.UDPConn, report func(string), st *Stats) {
	var mu sync.Mutex
	flows := map[netip.AddrPort]*udpFlow{}
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, fl := range flows {
			fl.close()
		}
	}()
	buf := make([]byte, protocol.MaxDatagram)
	for {
		n, src, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed: the forward ends
		}
		mu.Lock()
		fl := flows[src]
		if fl == nil {
			fl = &udpFlow{out: make(chan []byte, udpQueue), done: make(chan struct{})}
			flows[src] = fl
			go func() {
				fl.run(d, f, pc, src, report, st)
				mu.Lock()
				if flows[src] == fl {
					delete(flows, src)
				}
				mu.Unlock()
			}()
		}
		mu.Unlock()
		fl.send(buf[:n])
	}
}

// send queues a copy of b without waiting.
func (fl *udpFlow) send(b []byte) {
	select {
	case fl.out <- append([]byte(nil), b...):
	case <-fl.done:
	default:
	}
}

func (fl *udpFlow) close() { fl.once.Do(func() { close(fl.done) }) }

func (fl *udpFlow) touch() { fl.last.Store(time.Now().UnixNano()) }

// run opens the flow from the pod and carries datagrams both ways until it
// idles, the agent ends it, or the forward ends.
func (fl *udpFlow) run(d Dialer, f Forward, pc *net.UDPConn, src netip.AddrPort, report func(string), st *Stats) {
	defer fl.close()
	up, err := d.UDPHost(f.Remote())
	if err != nil {
		st.Failed.Add(1)
		report(fmt.Sprintf("-L %s: %v", f, err))
		return
	}
	defer up.Close() // also ends the reply loop's read
	st.Connections.Add(1)
	fl.touch()
	go func() {
		defer fl.close()
		buf := make([]byte, protocol.MaxDatagram)
		for {
			n, err := protocol.ReadDatagram(up, buf)
			if err != nil {
				return
			}
			fl.touch()
			st.BytesIn.Add(int64(n))
			_, _ = pc.WriteToUDPAddrPort(buf[:n], src)
		}
	}()
	tick := time.NewTicker(udpIdle / 4)
	defer tick.Stop()
	for {
		select {
		case b := <-fl.out:
			if protocol.WriteDatagram(up, b) != nil {
				return
			}
			fl.touch()
			st.BytesOut.Add(int64(len(b)))
		case <-tick.C:
			if time.Since(time.Unix(0, fl.last.Load())) > udpIdle {
				return
			}
		case <-fl.done:
			return
		}
	}
}
