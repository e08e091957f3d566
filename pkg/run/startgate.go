package run

import (
	"sync"
	"time"
)

// startGapAfterFirst is how long a session waits between starting agents
// after its first one while the agent it had may still be alive.
// deadReplacements agents may replace dead ones within deadWindow.
const (
	startGapAfterFirst = time.Minute
	deadReplacements   = 3
	deadWindow         = 10 * time.Minute
)

// startGate lets a session start its first agent at once. A replacement for
// an agent the kubelet says has exited (killed, OOM) starts at once too, a
// few times in a window: the traffic it routed waits for it. A replacement
// for one that still runs but did not answer starts at most once a minute:
// ephemeral containers can never be removed, so a port-forward that keeps
// failing must not fill the pod spec with agents.
type startGate struct {
	mu     sync.Mutex
	starts []time.Time      // every start, oldest first
	now    func() time.Time // tests; nil: time.Now
}

func (g *startGate) mayStart(replacingDead bool) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if g.now != nil {
		now = g.now()
	}
	if n := len(g.starts); n > 0 {
		if replacingDead {
			recent := 0
			for _, t := range g.starts[1:] { // the first agent is no replacement
				if now.Sub(t) < deadWindow {
					recent++
				}
			}
			if recent >= deadReplacements {
				return false
			}
		} else if now.Sub(g.starts[n-1]) < startGapAfterFirst {
			return false
		}
	}
	g.starts = append(g.starts, now)
	return true
}
