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
		want    bool
	}{
		{0, true},                 // the session's first agent
		{time.Second, false},      // a reconnect right after: reuse only
		{58 * time.Second, false}, // still within the minute
		{2 * time.Second, true},   // a minute on: one replacement
		{0, false},
	}
	for i, s := range steps {
		clock = clock.Add(s.advance)
		if got := g.mayStart(); got != s.want {
			t.Fatalf("step %d: mayStart = %v, want %v", i, got, s.want)
		}
	}
}
