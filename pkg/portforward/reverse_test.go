package portforward

import (
	"context"
	"strings"
	"testing"
)

func TestParseReverse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want string // Reverse.String(), or the error's telling part
	}{
		{"8080:127.0.0.1:18081", "8080:127.0.0.1:18081"},
		{"80:localhost:3000", "80:localhost:3000"},
		{"8080:[::1]:18081", "8080:[::1]:18081"},
		{"8080:127.0.0.1:18081/udp", "only TCP ports can be stolen"},
		{"8080:18081", "want REMOTE_PORT:LOCAL_HOST:LOCAL_PORT"},
		{"0:127.0.0.1:18081", "want REMOTE_PORT:LOCAL_HOST:LOCAL_PORT"},
		{"8080::18081", "want REMOTE_PORT:LOCAL_HOST:LOCAL_PORT"},
		{"8080:127.0.0.1:x", "want REMOTE_PORT:LOCAL_HOST:LOCAL_PORT"},
	} {
		r, err := ParseReverse(tc.spec)
		got := r.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.spec, got, tc.want)
		}
	}
}

// A LOCAL_HOST this machine cannot resolve is one line naming the fix; an
// address needs no lookup.
func TestCheckLocal(t *testing.T) {
	bad := Reverse{PodPort: 8080, Host: "no-such-host.invalid", Port: 1}
	if err := bad.CheckLocal(context.Background()); err == nil || !strings.Contains(err.Error(), "does not resolve on this machine") {
		t.Fatalf("got %v", err)
	}
	if err := (Reverse{PodPort: 8080, Host: "127.0.0.1", Port: 1}).CheckLocal(context.Background()); err != nil {
		t.Fatal(err)
	}
}
