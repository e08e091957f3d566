package incoming

import (
	"testing"
	"time"
)

// A listening socket one read of the table missed is still the program's:
// its port is withdrawn only when a second read in a row misses it too. A
// socket never seen listening goes after listenGrace.
func TestListenerWithdrawnAfterTwoMissedReads(t *testing.T) {
	m := &Manager{listeners: map[int]map[uint64]*listener{
		8080: {7: {since: time.Now()}},
		9090: {8: {since: time.Now().Add(-2 * listenGrace)}},
	}}
	if gone := m.expired(map[uint64]bool{7: true}); len(gone) != 1 || gone[0] != 9090 {
		t.Fatalf("first read (7 listening, 8 never): withdrawn %v, want [9090]", gone)
	}
	delete(m.listeners, 9090) // as withdraw does
	if gone := m.expired(map[uint64]bool{}); len(gone) != 0 {
		t.Fatalf("one read missed a seen listener: withdrawn %v, want none", gone)
	}
	if gone := m.expired(map[uint64]bool{7: true}); len(gone) != 0 {
		t.Fatalf("seen again: withdrawn %v, want none", gone)
	}
	m.expired(map[uint64]bool{})
	if gone := m.expired(map[uint64]bool{}); len(gone) != 1 || gone[0] != 8080 {
		t.Fatalf("two reads in a row missed it: withdrawn %v, want [8080]", gone)
	}
}
