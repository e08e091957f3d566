//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// port-forward -L from the laptop (which reaches only the API server): a
// Service name resolved by the pod's DNS, its short and its full form, answers
// with the target pod as the caller; a name the pod cannot resolve resets that
// connection and is reported; the closing line counts; a non-loopback local
// address is refused in one line unless --address accepts it.
func TestPortForwardDialsFromThePod(t *testing.T) {
	target, _ := echoPods(t)
	_, errOut, code := plugin(t, "port-forward", "pod/"+target.name, "-L", "0.0.0.0:18090:echo:80").run()
	if line := oneErrorLine(t, errOut); code == 0 || !strings.Contains(line, "add --address 0.0.0.0") {
		t.Fatalf("a forward on every address was not refused in one line: exit %d: %s", code, errOut)
	}
	s := plugin(t, "port-forward", "pod/"+target.name, "-L", "18090:echo:80",
		"-L", "127.0.0.1:18091:echo.default.svc.cluster.local:80", "-L", "18092:no-such-service:80").start()
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Count(s.err(), "forwarding ") == 3 }, s.err)
	for _, port := range []string{"18090", "18091"} {
		out, err := inLaptop(t, 30*time.Second, "curl", "-sS", "http://127.0.0.1:"+port+"/pf-"+port)
		if err != nil || !strings.Contains(out, `"path":"/pf-`+port+`"`) {
			t.Fatalf("through -L %s: %v\n%s\n%s", port, err, out, s.err())
		}
		checkCaller(t, out, target.name, target.ip)
	}
	if out, err := inLaptop(t, 30*time.Second, "curl", "-sS", "http://127.0.0.1:18092/"); err == nil {
		t.Fatalf("a forward to a name the pod cannot resolve answered: %s", out)
	}
	s.stop(t)
	if !strings.Contains(s.err(), "no-such-service:80: ") || !strings.Contains(s.err(), "2 connections forwarded") ||
		!strings.Contains(s.err(), "1 connection the pod could not make") {
		t.Fatalf("the failure or the closing count is missing:\n%s", s.err())
	}
}
