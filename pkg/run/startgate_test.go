package run

import (
	"testing"
	"time"
)

func TestStartGateAllowsOneReplacementAMinute(t *testing.T) {
	clock := time.Unix(1000, 0)
	g := &startGate{now: func() time.Time { return clock }}
	steps := []struct {
		advance time.Duration
		dead    bool
		want    bool
	}{
		{0, false, true},                 // the session's first agent
		{time.Second, false, false},      // a reconnect right after: reuse only
		{58 * time.Second, false, false}, // still within the minute
		{2 * time.Second, false, true},   // a minute on: one replacement
		{0, false, false},
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		if got := g.mayStart(s.dead); got != s.want {
			t.Fatalf("step %d: mayStart = %v, want %v", i, got, s.want)
		}
	}
}

// An agent the kubelet says exited is replaced at once, three times in ten
// minutes at most (an agent that keeps dying must not fill the pod spec).
func TestStartGateReplacesDeadAgentsAtOnceAFewTimes(t *testing.T) {
	clock := time.Unix(1000, 0)
	g := &startGate{now: func() time.Time { return clock }}
	steps := []struct {
		advance time.Duration
		want    bool
	}{
		{0, true},                // the first agent
		{time.Second, true},      // killed: replaced at once
		{time.Second, true},      // again
		{time.Second, true},      // a third time
		{time.Second, false},     // a fourth within ten minutes: no
		{10 * time.Minute, true}, // the window has moved on
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		if got := g.mayStart(true); got != s.want {
			t.Fatalf("step %d: mayStart(dead) = %v, want %v", i, got, s.want)
		}
	}
}
