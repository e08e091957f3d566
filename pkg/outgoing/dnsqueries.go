package outgoing

import (
	"net/netip"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// dnsAnswerWait: a DNS query with no answer after this long was lost (a
// resolver's own timeout is 5 s; it asks again with a new query).
// dnsGaveUp: at the end, a query older than this is counted lost too.
const (
	dnsAnswerWait = 5 * time.Second
	dnsGaveUp     = time.Second
)

// dnsQueries are the DNS queries of each program socket waiting for their
// answer, by the query's ID: the summary tells the ones that never got one.
type dnsQueries map[netip.AddrPort]map[uint16]time.Time

func (q dnsQueries) sent(src netip.AddrPort, msg []byte, at time.Time) {
	id, ok := protocol.DNSID(msg)
	if !ok {
		return
	}
	if q[src] == nil {
		q[src] = map[uint16]time.Time{}
	}
	q[src][id] = at
}

func (q dnsQueries) answered(src netip.AddrPort, msg []byte) {
	if id, ok := protocol.DNSID(msg); ok {
		delete(q[src], id)
		if len(q[src]) == 0 {
			delete(q, src)
		}
	}
}

// expire forgets the queries sent before cutoff and returns how many.
func (q dnsQueries) expire(cutoff time.Time) int {
	n := 0
	for src, ids := range q {
		for id, at := range ids {
			if at.Before(cutoff) {
				delete(ids, id)
				n++
			}
		}
		if len(ids) == 0 {
			delete(q, src)
		}
	}
	return n
}
