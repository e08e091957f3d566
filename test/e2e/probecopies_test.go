//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// Under mirror the kubelet's probes (GET /ready every 2 s on the echo pods) are
// not copied to the program unless --mirror-probes asks; other requests are.
func TestMirrorLeavesProbeCopiesOut(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	for _, tc := range []struct {
		flags      []string
		wantProbes bool
	}{{nil, false}, {[]string{"--mirror-probes"}, true}} {
		args := append(append([]string{"run", "pod/" + target.name}, tc.flags...), "--", testProgs.httpserve, "8080")
		s := plugin(t, args...).serving()
		fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/not-a-probe")
		testenv.Eventually(t, 15*time.Second, func() bool { return strings.Contains(s.out(), "got GET /not-a-probe") },
			func() string { return "no copy of a plain request:\n" + s.out() })
		// The behaviour under test needs the time to pass: three probe periods
		// (the kubelet probes /ready every 2 s).
		time.Sleep(6 * time.Second)
		s.stop(t)
		if got := strings.Contains(s.out(), "got GET /ready"); got != tc.wantProbes {
			t.Errorf("flags %v: probe copies reached the program: %v, want %v\n%s", tc.flags, got, tc.wantProbes, s.out())
		}
	}
}
