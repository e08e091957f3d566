package agent

import (
	"sync"
	"time"
)

// idleTracker fires once no connection has been open for the timeout.
type idleTracker struct {
	mu      sync.Mutex
	timeout time.Duration
	active  int
	timer   *time.Timer
	fired   chan struct{}
	once    sync.Once
}

func newIdleTracker(timeout time.Duration) *idleTracker {
	t := &idleTracker{timeout: timeout, fired: make(chan struct{})}
	t.timer = time.AfterFunc(timeout, t.fire)
	return t
}

func (t *idleTracker) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active == 0 {
		t.once.Do(func() { close(t.fired) })
	}
}

// Begin marks a connection open: the agent is not idle while it lasts.
func (t *idleTracker) Begin() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active++
	t.timer.Stop()
}

// End marks a connection closed and restarts the countdown when none is left.
func (t *idleTracker) End() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.active--
	if t.active == 0 {
		t.timer.Reset(t.timeout)
	}
}

func (t *idleTracker) expired() <-chan struct{} { return t.fired }

func (t *idleTracker) isExpired() bool {
	select {
	case <-t.fired:
		return true
	default:
		return false
	}
}
