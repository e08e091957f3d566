//go:build e2e

package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// The API server becomes unreachable from the laptop for 25 s while the
// program makes a request a second: the user is told when the link to the
// agent is lost and when it is back, the program's requests work again
// after, and the summary counts what failed meanwhile.
func TestAPIServerOutageIsToldAndCounted(t *testing.T) {
	target, _ := echoPods(t)
	script := `for i in $(seq 1 40); do if curl -s -m 2 -o /dev/null http://echo/tick-$i; then echo ok $i; else echo fail $i; fi; sleep 1; done`
	s := plugin(t, "run", "pod/"+target.name, "--", "sh", "-c", script).start()
	defer s.stop(t)
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Count(s.out(), "ok ") >= 2 },
		func() string { return "the program's first requests did not succeed:\n" + s.out() + s.err() })

	drop := []string{"OUTPUT", "-p", "tcp", "--dport", "6443", "-j", "DROP"}
	if out, err := inLaptop(t, 30*time.Second, "iptables", append([]string{"-I"}, drop...)...); err != nil {
		t.Fatalf("cut the API server off: %v\n%s", err, out)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			_, _ = inLaptop(t, 30*time.Second, "iptables", append([]string{"-D"}, drop...)...)
		}
	}
	defer restore()
	testenv.Eventually(t, 30*time.Second, func() bool { return strings.Contains(s.err(), "connection to the agent lost") },
		func() string { return "the user was not told the link was lost:\n" + s.err() })
	time.Sleep(10 * time.Second) // the behaviour under test: an outage this long, requests failing meanwhile
	restore()
	testenv.Eventually(t, 60*time.Second, func() bool { return strings.Contains(s.err(), "reconnected to the agent") },
		func() string { return "the user was not told the link is back:\n" + s.err() })
	testenv.Eventually(t, 90*time.Second, func() bool { return s.cmd.ProcessState != nil || strings.Contains(s.out(), " 40\n") },
		func() string { return s.out() + s.err() })
	_ = s.cmd.Wait()
	out, errOut := s.out(), s.err()
	fails := strings.Count(out, "fail ")
	last := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	if fails == 0 || !strings.HasPrefix(last, "ok ") {
		t.Fatalf("want failures during the outage and success after it:\n%s\n%s", out, errOut)
	}
	summary := errOut[strings.LastIndex(errOut, "kubectl mirror: "):]
	// Each failed request lost a DNS query or a connection.
	counted := 0
	for _, re := range []*regexp.Regexp{regexp.MustCompile(`\((\d+) got no answer\)`), regexp.MustCompile(`\((\d+) more failed\)`)} {
		if m := re.FindStringSubmatch(summary); m != nil {
			n, _ := strconv.Atoi(m[1])
			counted += n
		}
	}
	if counted < fails {
		t.Fatalf("%d requests failed, the summary counts %d failures: %s", fails, counted, summary)
	}
	t.Logf("%d of 40 requests failed; summary: %s", fails, strings.TrimSpace(summary))
}
