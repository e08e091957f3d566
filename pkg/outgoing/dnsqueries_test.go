package outgoing

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func query(id uint16) []byte {
	m := make([]byte, 12)
	m[0], m[1] = byte(id>>8), byte(id)
	return m
}

// A query whose answer never comes is counted once, when it expires; an
// answered one never is; the summary says how many got no answer.
func TestUnansweredDNSQueriesAreCounted(t *testing.T) {
	q := dnsQueries{}
	a := netip.MustParseAddrPort("127.0.0.1:40000")
	b := netip.MustParseAddrPort("127.0.0.1:40001")
	t0 := time.Now()
	q.sent(a, query(1), t0)
	q.sent(a, query(2), t0)
	q.sent(b, query(1), t0.Add(3*time.Second))
	q.sent(b, []byte("short"), t0) // not DNS: ignored
	q.answered(a, query(1))
	q.answered(b, query(7)) // an answer to nothing asked changes nothing
	if n := q.expire(t0.Add(time.Second)); n != 1 {
		t.Fatalf("expired %d, want 1 (a's query 2)", n)
	}
	if n := q.expire(t0.Add(time.Second)); n != 0 {
		t.Fatalf("a query counted twice: %d", n)
	}
	if n := q.expire(t0.Add(10 * time.Second)); n != 1 || len(q) != 0 {
		t.Fatalf("expired %d, left %v", n, q)
	}
	var s Stats
	s.DNSQueries.Add(4)
	s.DNSUnanswered.Add(2)
	if got := strings.Join(s.Parts(), "; "); !strings.Contains(got, "4 DNS queries (2 got no answer)") {
		t.Fatalf("summary: %q", got)
	}
}
