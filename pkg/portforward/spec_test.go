package portforward

import (
	"strings"
	"testing"
)

func TestParseForward(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		allowed []string
		want    string // Forward.String(), or the error's telling part
	}{
		{"5432:postgres:5432", nil, "127.0.0.1:5432 -> postgres:5432"},
		{"127.0.0.1:8080:api.shop.svc:80", nil, "127.0.0.1:8080 -> api.shop.svc:80"},
		{"[::1]:8080:[fd00::7]:80", nil, "[::1]:8080 -> [fd00::7]:80"},
		{"0:10.0.3.7:9000", nil, "127.0.0.1:0 -> 10.0.3.7:9000"},
		{"0.0.0.0:8080:api:80", nil, "add --address 0.0.0.0"},
		{"0.0.0.0:8080:api:80", []string{"0.0.0.0"}, "0.0.0.0:8080 -> api:80"},
		{"8080:api", nil, "want [LOCAL_ADDR:]LOCAL_PORT:HOST:PORT"},
		{"8080:api:0", nil, "want [LOCAL_ADDR:]LOCAL_PORT:HOST:PORT"},
		{"host:8080:api:80", nil, "is not an IP address"},
		{"5353:kube-dns.kube-system:53/udp", nil, "127.0.0.1:5353 -> kube-dns.kube-system:53/udp"},
		{"8080:api:80/tcp", nil, "127.0.0.1:8080 -> api:80"},
		{"5353:dns:53/sctp", nil, "want [LOCAL_ADDR:]LOCAL_PORT:HOST:PORT[/udp]"},
	} {
		f, err := ParseForward(tc.spec, tc.allowed)
		got := f.String()
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.spec, got, tc.want)
		}
	}
}
