package outgoing

import (
	"net/netip"
	"testing"
)

func mustRule(t *testing.T, s string) Rule {
	t.Helper()
	r, host, err := ParseRule(s)
	if err != nil || host != "" {
		t.Fatalf("ParseRule(%q) = %v %q %v", s, r, host, err)
	}
	return r
}

func TestRules(t *testing.T) {
	ap := netip.MustParseAddrPort
	everything := Rules{}
	keepDB := Rules{Local: []Rule{mustRule(t, "10.0.5.0/24"), mustRule(t, ":5432")}}
	onlyCluster := Rules{Remote: []Rule{mustRule(t, "10.96.0.0/12"), mustRule(t, "[fd00::]:443")}, Local: []Rule{mustRule(t, "10.96.0.1:443")}}
	cases := []struct {
		rules Rules
		dst   string
		want  bool
	}{
		{everything, "10.96.0.10:53", true},
		{everything, "127.0.0.1:5432", false},
		{everything, "[::1]:80", false},
		{everything, "[::ffff:127.0.0.1]:80", false},
		{everything, "0.0.0.0:80", false},
		{everything, "[2001:db8::1]:80", true},
		{keepDB, "10.0.5.7:80", false},
		{keepDB, "10.9.9.9:5432", false},
		{keepDB, "10.9.9.9:80", true},
		{keepDB, "[::ffff:10.0.5.7]:80", false},
		{onlyCluster, "10.96.3.4:80", true},
		{onlyCluster, "10.96.0.1:443", false},
		{onlyCluster, "192.168.1.1:80", false},
		{onlyCluster, "[fd00::]:443", true},
		{onlyCluster, "[fd00::]:80", false},
	}
	for _, tc := range cases {
		if got := tc.rules.IsRemote(ap(tc.dst)); got != tc.want {
			t.Errorf("%+v IsRemote(%s) = %v, want %v", tc.rules, tc.dst, got, tc.want)
		}
	}
}

func TestParseRule(t *testing.T) {
	if _, host, err := ParseRule("db.internal:5432"); err != nil || host != "db.internal" {
		t.Fatalf("host rule: %q %v", host, err)
	}
	for _, bad := range []string{":0", ":99999", "10.0.0.0/8:x", "a b", ""} {
		if _, _, err := ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
	if r := mustRule(t, "10.1.2.3/8"); r.Prefix.String() != "10.0.0.0/8" {
		t.Errorf("prefix not masked: %v", r)
	}
}
