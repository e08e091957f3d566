package run

import (
	"sync"
	"time"
)

// startGapAfterFirst is how long a session waits between starting agents
// after its first one.
const startGapAfterFirst = time.Minute

// startGate lets a session start its first agent at once and a replacement
// at most once a minute: ephemeral containers can never be removed, so a
// port-forward that keeps failing must not fill the pod spec with agents.
type startGate struct {
	mu   sync.Mutex
	last time.Time        // zero: no agent started yet
	now  func() time.Time // tests; nil: time.Now
}

func (g *startGate) mayStart() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if g.now != nil {
		now = g.now()
	}
	if !g.last.IsZero() && now.Sub(g.last) < startGapAfterFirst {
		return false
	}
	g.last = now
	return true
}
