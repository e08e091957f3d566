//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// A client in the cluster sends a GET every 100 ms through the Service
// while the program, stealing the port on every pod, lets go of it: no
// request fails, and once the program closed its listener every answer is
// the pod's app's (the close returns only when the redirects are gone).
func TestNoRequestLostThroughTheServiceWhenTheProgramLetsGo(t *testing.T) {
	netprobe, _, _ := programs(t)
	echoPods(t)
	for _, tc := range []struct {
		name, ms, then string
	}{
		{"closes and lives on", "2000", "live"},
		{"exits", "2000", "exit"},
		{"listens and closes at once", "0", "live"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plugin(t, "run", "deploy/echo", "--incoming", "steal", "--", netprobe, "listenfor", "8080", tc.ms, tc.then)
			var s *session
			if tc.ms == "0" {
				s = p.start()
				testenv.Eventually(t, 90*time.Second, func() bool { return strings.Contains(s.out(), "closed") }, s.err)
			} else {
				s = p.serving()
			}
			defer s.stop(t)
			loop := "for i in $(seq 1 40); do if out=$(timeout 5 wget -qO- http://echo/tick-$i 2>&1); then " +
				`case "$out" in *'"local":true'*) echo local;; *) echo app;; esac; else echo FAIL $i; fi; sleep 0.1; done`
			out := fromToolbox(t, loop)
			fails, local, app := strings.Count(out, "FAIL"), strings.Count(out, "local"), strings.Count(out, "app")
			t.Logf("40 requests: %d to the program, %d to the pod's app, %d failed", local, app, fails)
			if fails != 0 {
				t.Fatalf("%d requests failed:\n%s\n%s", fails, out, s.err())
			}
			// The program's answers come first, then only the app's.
			if i := strings.Index(out, "app"); i < 0 || strings.Contains(out[i:], "local") {
				t.Fatalf("want the program's answers, then only the app's:\n%s", out)
			}
			if tc.ms != "0" && local == 0 {
				t.Fatalf("the program answered nothing before its close:\n%s\n%s", out, s.err())
			}
			if tc.ms == "0" && local != 0 {
				t.Fatalf("the program closed its listener at once, yet answered %d requests:\n%s", local, out)
			}
		})
	}
}
