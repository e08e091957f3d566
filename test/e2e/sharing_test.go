//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// Two users (two keys, so two agents in the pod) steal the same port with
// different header filters: on one keep-alive connection each request goes
// to the session whose filter it matches, the rest to the pod's app. A third,
// unfiltered steal is refused naming a holder; with --incoming-takeover it
// takes the port and both are told.
func TestTwoUsersShareAPortByFilter(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	alice := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--http-filter", "header:X-User: ^alice$",
		"--", testProgs.httpserve, "8080").serving()
	bob := plugin(t, "run", "pod/"+target.name, "--incoming", "steal",
		"--http-filter", "header:X-User: ^bob$", "--port-map", "8081:8080", "--", testProgs.httpserve, "8081").
		env("XDG_CONFIG_HOME=" + t.TempDir()).serving()

	// One connection, X-User alice, bob, alice, ...: all answered by a program.
	out := fromToolbox(t, "timeout 20 mirror-echo mixed http://"+target.ip+":8080/shared 6")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 6 || strings.Count(out, `"local":true`) != 6 {
		t.Fatalf("want 6 replies from the programs, got:\n%s\nalice:\n%s\nbob:\n%s", out, alice.err(), bob.err())
	}
	if a, b := strings.Count(alice.out(), "got GET /shared/"), strings.Count(bob.out(), "got GET /shared/"); a != 3 || b != 3 {
		t.Fatalf("alice's program got %d, bob's %d of 3 requests each", a, b)
	}
	if strings.Contains(alice.out(), "/shared/1") || strings.Contains(bob.out(), "/shared/0") {
		t.Fatalf("a request reached the wrong session:\nalice:\n%s\nbob:\n%s", alice.out(), bob.out())
	}
	// Nobody's header: the pod's app.
	if out := fromToolbox(t, "timeout 5 wget -qO- --header 'X-User: carol' http://"+target.ip+":8080/carol"); !strings.Contains(out, `"pod":"`+target.name) {
		t.Fatalf("a request matching no session did not reach the pod's app: %s", out)
	}
	// A WebSocket upgrade that alice's program answers 200 (it does not
	// switch) leaves the connection shared: bob's next request on it is bob's.
	upgrade := `GET /ws-refused HTTP/1.1\r\nHost: x\r\nX-User: alice\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n` +
		`GET /after-upgrade HTTP/1.1\r\nHost: x\r\nX-User: bob\r\nConnection: close\r\n\r\n`
	fromToolbox(t, "(printf '"+upgrade+"'; sleep 3) | timeout 10 nc "+target.ip+" 8080")
	if !strings.Contains(alice.out(), "got GET /ws-refused") || !strings.Contains(bob.out(), "got GET /after-upgrade") || strings.Contains(alice.out(), "/after-upgrade") {
		t.Fatalf("after an upgrade alice's program refused, bob's request went astray:\nalice:\n%s\nbob:\n%s", alice.out(), bob.out())
	}

	// An unfiltered steal is refused, naming the oldest holder.
	carol := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--port-map", "8082:8080", "--", testProgs.httpserve, "8082").start()
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Contains(carol.err(), "incoming traffic for port 8082") },
		func() string { return carol.err() })
	if !strings.Contains(carol.err(), "stolen with HTTP filters by kubectl mirror of ") || !strings.Contains(carol.err(), "--incoming-takeover") {
		t.Fatalf("the refusal does not name the holder and the way out:\n%s", carol.err())
	}
	carol.stop(t)

	// Alice's session (whose agent routes the port) ends: bob keeps his
	// requests, alice's go back to the pod's app.
	alice.stop(t)
	if out := fromToolbox(t, "timeout 20 mirror-echo mixed http://"+target.ip+":8080/after 2"); !strings.Contains(out, `"pod":"`+target.name) ||
		strings.Count(out, `"local":true`) != 1 || !strings.Contains(bob.out(), "got GET /after/1") {
		t.Fatalf("after alice left: %s\nbob:\n%s", out, bob.err())
	}

	// With --incoming-takeover an unfiltered steal takes the port; bob is told.
	dave := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--incoming-takeover", "--port-map", "8083:8080", "--", testProgs.httpserve, "8083").serving()
	defer dave.stop(t)
	testenv.Eventually(t, 20*time.Second, func() bool { return strings.Contains(bob.err(), "took port 8080 over") },
		func() string { return "bob was not told:\n" + bob.err() })
	if out := fromToolbox(t, "timeout 5 wget -qO- --header 'X-User: bob' http://"+target.ip+":8080/taken"); !strings.Contains(out, `"local":true`) ||
		!strings.Contains(dave.out(), "got GET /taken") {
		t.Fatalf("after the takeover bob's request did not reach the new holder: %s\n%s", out, dave.err())
	}
	// The taker leaves: bob's filtered steal comes back by itself.
	dave.stop(t)
	testenv.Eventually(t, 30*time.Second, func() bool { return strings.Contains(bob.err(), "steal again: the pod's port 8080") },
		func() string { return "bob did not get his steal back:\n" + bob.err() })
	if out := fromToolbox(t, "timeout 5 wget -qO- --header 'X-User: bob' http://"+target.ip+":8080/back"); !strings.Contains(out, `"local":true`) ||
		!strings.Contains(bob.out(), "got GET /back") {
		t.Fatalf("after the taker left bob's request did not reach bob: %s\n%s", out, bob.err())
	}
	bob.stop(t)
}

// Under a header filter, cleartext HTTP/2 and gRPC are routed stream by
// stream: a gRPC call (grpc-go's health service) or an HTTP/2 request with
// the header reaches the program, one without it the pod's app.
func TestFilteredStealRoutesGRPCAndH2ByHeader(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	s := plugin(t, "run", "pod/"+target.name, "--incoming", "steal", "--http-filter", "header:X-User: ^alice$",
		"--", testProgs.httpserve, "8080").serving()
	defer s.stop(t)
	addr := target.ip + ":8080"
	for _, c := range []struct{ call, user, want string }{
		{"grpc " + addr, "alice", "served-by=local status=SERVING"},
		{"grpc " + addr, "bob", "served-by=pod/" + target.name + " status=SERVING"},
		{"h2c http://" + addr + "/h2-alice", "alice", `"local":true`},
		{"h2c http://" + addr + "/h2-bob", "bob", `"pod":"` + target.name},
	} {
		if out := fromToolbox(t, "timeout 15 mirror-echo "+c.call+" "+c.user); !strings.Contains(out, c.want) {
			t.Errorf("%s as %s: got %q, want %q\n%s", c.call, c.user, out, c.want, s.err())
		}
	}
	if !strings.Contains(s.out(), "got grpc /grpc.health.v1.Health/Check") || strings.Count(s.out(), "got grpc") != 1 ||
		!strings.Contains(s.out(), "got GET /h2-alice") || strings.Contains(s.out(), "/h2-bob") {
		t.Fatalf("the program saw:\n%s", s.out())
	}
}

// Two users mirror the same port: the client is answered by the pod's app
// and each program gets its own copy.
func TestTwoUsersMirrorOnePort(t *testing.T) {
	programs(t)
	target, _ := echoPods(t)
	a := plugin(t, "run", "pod/"+target.name, "--incoming", "mirror", "--", testProgs.httpserve, "8080").serving()
	defer a.stop(t)
	b := plugin(t, "run", "pod/"+target.name, "--incoming", "mirror",
		"--port-map", "8081:8080", "--", testProgs.httpserve, "8081").env("XDG_CONFIG_HOME=" + t.TempDir()).serving()
	defer b.stop(t)
	if out := fromToolbox(t, "timeout 5 wget -qO- http://"+target.ip+":8080/copied"); !strings.Contains(out, `"pod":"`+target.name) {
		t.Fatalf("the client was not answered by the pod's app: %s", out)
	}
	for name, s := range map[string]*session{"first": a, "second": b} {
		testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(s.out(), "got GET /copied") },
			func() string { return "the " + name + " program got no copy:\n" + s.out() + s.err() })
	}
}
