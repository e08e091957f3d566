package incoming

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

func claim(t *testing.T, session string, mode protocol.Mode, takeover bool, filters ...protocol.HTTPFilter) (*subscriber, chan string) {
	t.Helper()
	s, err := newSubscriber(protocol.Request{Kind: protocol.KindIncoming, Port: 8080, Mode: mode, Filters: filters,
		Session: session, Holder: "kubectl mirror of " + session, Takeover: takeover})
	if err != nil {
		t.Fatal(err)
	}
	told := make(chan string, 1)
	s.evict = func(reason string) { told <- reason }
	return s, told
}

func header(v string) protocol.HTTPFilter {
	return protocol.HTTPFilter{Kind: "header", Name: "X-User", Pattern: "^" + v + "$"}
}

func TestRouterFilteredStealsShareAndOldestMatchWins(t *testing.T) {
	r := &portRouter{port: 8080}
	alice, _ := claim(t, "alice", protocol.ModeSteal, false, header("alice"))
	bob, _ := claim(t, "bob", protocol.ModeSteal, false, header("alice|bob"))
	for _, s := range []*subscriber{alice, bob} {
		if err := r.add(s); err != nil {
			t.Fatalf("filtered steals must share the port: %v", err)
		}
	}
	in := incomingConn{router: r}
	for user, want := range map[string]*subscriber{"alice": alice, "bob": bob, "carol": nil} {
		req, _ := http.NewRequest("GET", "/", nil)
		req.Header.Set("X-User", user)
		if got := in.pick(req); got != want {
			t.Errorf("X-User %s went to %v, want %v", user, got, want)
		}
	}
}

func TestRouterRefusesUnsharableClaimNamingHolder(t *testing.T) {
	cases := []struct {
		name        string
		held, asked func(t *testing.T) *subscriber
	}{
		{"unfiltered after filtered", func(t *testing.T) *subscriber {
			s, _ := claim(t, "alice", protocol.ModeSteal, false, header("a"))
			return s
		}, func(t *testing.T) *subscriber { s, _ := claim(t, "bob", protocol.ModeSteal, false); return s }},
		{"filtered after unfiltered", func(t *testing.T) *subscriber { s, _ := claim(t, "alice", protocol.ModeSteal, false); return s },
			func(t *testing.T) *subscriber {
				s, _ := claim(t, "bob", protocol.ModeSteal, false, header("b"))
				return s
			}},
		{"steal after mirror", func(t *testing.T) *subscriber { s, _ := claim(t, "alice", protocol.ModeMirror, false); return s },
			func(t *testing.T) *subscriber {
				s, _ := claim(t, "bob", protocol.ModeSteal, false, header("b"))
				return s
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &portRouter{port: 8080}
			if err := r.add(c.held(t)); err != nil {
				t.Fatal(err)
			}
			err := r.add(c.asked(t))
			if !errors.Is(err, errPortHeld) || !strings.Contains(err.Error(), "kubectl mirror of alice") {
				t.Fatalf("got %v, want a refusal naming alice's session", err)
			}
			if n := len(r.current()); n != 1 {
				t.Fatalf("%d sessions after a refusal, want 1", n)
			}
		})
	}
}

func TestRouterMirrorsShare(t *testing.T) {
	r := &portRouter{port: 8080}
	a, _ := claim(t, "alice", protocol.ModeMirror, false)
	b, _ := claim(t, "bob", protocol.ModeMirror, false)
	if err := r.add(a); err != nil {
		t.Fatal(err)
	}
	if err := r.add(b); err != nil {
		t.Fatalf("mirrors must share: %v", err)
	}
}

func TestRouterTakeoverTellsTheOthers(t *testing.T) {
	r := &portRouter{port: 8080}
	alice, told := claim(t, "alice", protocol.ModeSteal, false, header("a"))
	bob, _ := claim(t, "bob", protocol.ModeSteal, true)
	if err := r.add(alice); err != nil {
		t.Fatal(err)
	}
	if err := r.add(bob); err != nil {
		t.Fatalf("takeover refused: %v", err)
	}
	if subs := r.current(); len(subs) != 1 || subs[0] != bob {
		t.Fatalf("after takeover the port is served to %d sessions", len(subs))
	}
	select {
	case why := <-told:
		if !strings.Contains(why, "kubectl mirror of bob") {
			t.Fatalf("alice was told %q, want bob named", why)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("alice was never told she lost the port")
	}
}

func TestRouterSameSessionReplacesItsClaim(t *testing.T) {
	r := &portRouter{port: 8080}
	old, _ := claim(t, "alice", protocol.ModeSteal, false)
	again, _ := claim(t, "alice", protocol.ModeSteal, false)
	if err := r.add(old); err != nil {
		t.Fatal(err)
	}
	if err := r.add(again); err != nil {
		t.Fatalf("a reconnecting session was refused its own port: %v", err)
	}
	if subs := r.current(); len(subs) != 1 || subs[0] != again {
		t.Fatal("the old claim was kept beside the new one")
	}
	if r.remove(old) {
		t.Fatal("removing the replaced claim emptied the port")
	}
}
