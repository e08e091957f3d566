//go:build e2e

package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// 50 sessions of one user on one pod at once, each making 5 requests by
// name (a DNS lookup each): every request succeeds, and no summary says a
// DNS query went unanswered.
func TestFiftySessionsLoseNoRequest(t *testing.T) {
	netprobe, _, _ := programs(t)
	target, _ := echoPods(t)
	// One run first, so the 50 share its agent rather than race to start one.
	if out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "conns", "http://echo/warm", "1").run(); code != 0 {
		t.Fatalf("warm-up: exit %d\n%s%s", code, out, errOut)
	}
	const sessions, each = 50, 5
	type result struct {
		out, err string
		code     int
	}
	results := make([]result, sessions)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", netprobe, "conns", "http://echo/many", "5").timeout(5 * time.Minute).run()
			results[i] = result{out, errOut, code}
		}()
	}
	wg.Wait()
	ok, unanswered := 0, 0
	for i, r := range results {
		if r.code == 0 && strings.Contains(r.out, "5 of 5 requests succeeded") {
			ok += each
		} else {
			t.Errorf("session %d: exit %d\n%s%s", i, r.code, r.out, r.err)
		}
		if strings.Contains(r.err, "got no answer") {
			unanswered++
			t.Errorf("session %d lost DNS queries: %s", i, r.err[strings.LastIndex(r.err, "kubectl mirror: "):])
		}
	}
	t.Logf("%d of %d requests succeeded over %d sessions; %d sessions lost DNS queries", ok, sessions*each, sessions, unanswered)
}
