package egress

import (
	"net"
	"sync"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// A DNS query lost between the agent and the pod's DNS server (a dropped
// datagram under load, a conntrack race on the Service address) would cost
// the program its resolver's own timeout (5 s) or a failed lookup. The
// agent sends a query with no answer again after dnsResendAfter, at most
// dnsResends times: DNS queries are idempotent and resolvers take the
// first answer with their query's ID.
const (
	dnsResendAfter = time.Second
	dnsResends     = 2
)

// dnsResender tracks one UDP flow's queries to port 53 by their ID.
type dnsResender struct {
	c       *net.UDPConn
	mu      sync.Mutex
	pending map[uint16]*dnsQuery
	done    chan struct{}
}

type dnsQuery struct {
	msg   []byte
	sent  time.Time
	sends int
}

func newDNSResender(c *net.UDPConn) *dnsResender {
	r := &dnsResender{c: c, pending: map[uint16]*dnsQuery{}, done: make(chan struct{})}
	go r.run()
	return r
}

// sent notes a query the program sent.
func (r *dnsResender) sent(b []byte) {
	if id, ok := protocol.DNSID(b); ok {
		r.mu.Lock()
		r.pending[id] = &dnsQuery{msg: append([]byte(nil), b...), sent: time.Now(), sends: 1}
		r.mu.Unlock()
	}
}

// answered notes an answer from the server.
func (r *dnsResender) answered(b []byte) {
	if id, ok := protocol.DNSID(b); ok {
		r.mu.Lock()
		delete(r.pending, id)
		r.mu.Unlock()
	}
}

func (r *dnsResender) run() {
	t := time.NewTicker(dnsResendAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			r.mu.Lock()
			for id, q := range r.pending {
				switch {
				case now.Sub(q.sent) < dnsResendAfter:
				case q.sends > dnsResends:
					delete(r.pending, id) // given up: the resolver asks again itself
				default:
					q.sends++
					q.sent = now
					_, _ = r.c.Write(q.msg)
				}
			}
			r.mu.Unlock()
		}
	}
}

func (r *dnsResender) stop() { close(r.done) }
