package outgoing

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestResolveNamesWhereAHostWasGiven: a host that does not resolve is an
// error naming where it was given (the flag or the project file's key), with
// the resolver's error kept for errors.Is/As.
func TestResolveNamesWhereAHostWasGiven(t *testing.T) {
	notFound := errors.New("no such host")
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "db.internal" {
			return []netip.Addr{netip.MustParseAddr("10.0.0.7")}, nil
		}
		return nil, notFound
	}
	ok := HostRule{Host: "db.internal", Port: 5432, From: `--remote "db.internal:5432"`}
	for _, h := range []HostRule{
		{Host: "nosuchhost.invalid", From: `--local "nosuchhost.invalid"`},
		{Host: "nosuchhost.invalid", From: `.kubectl-mirror.yaml:4: outgoing.local: "nosuchhost.invalid"`},
		{Host: "nosuchhost.invalid"},
	} {
		_, err := Rules{}.Resolve(context.Background(), []HostRule{h}, []HostRule{ok}, lookup, lookup)
		want := h.From
		if want == "" {
			want = `"nosuchhost.invalid"`
		}
		if err == nil || !strings.HasPrefix(err.Error(), want+": ") || !errors.Is(err, notFound) {
			t.Errorf("%+v: error %v, want it to start with %s and wrap the lookup's", h, err, want)
		}
	}
	rs, err := Rules{}.Resolve(context.Background(), nil, []HostRule{ok}, lookup, lookup)
	if err != nil || len(rs.Remote) != 1 || rs.Remote[0] != (Rule{Prefix: netip.MustParsePrefix("10.0.0.7/32"), Port: 5432}) {
		t.Fatalf("Resolve = %+v, %v", rs, err)
	}
}
