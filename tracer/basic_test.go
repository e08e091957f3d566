package tracer

import (
	"context"
	"testing"
)

func TestExitCodes(t *testing.T) {
	needPtrace(t)
	for _, tc := range []struct {
		script string
		want   Status
	}{
		{"exit 0", Status{Code: 0}},
		{"exit 7", Status{Code: 7}},
		{"kill -TERM $$", Status{Signal: 15}},
		{"kill -KILL $$", Status{Signal: 9}},
	} {
		st, err := Trace(context.Background(), withEngine(Config{Path: "sh", Args: []string{"sh", "-c", tc.script}}))
		if err != nil {
			t.Fatalf("%q: %v", tc.script, err)
		}
		if st != tc.want {
			t.Errorf("%q: got %v, want %v", tc.script, st, tc.want)
		}
	}
}
