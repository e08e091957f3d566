package envmerge

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMerge(t *testing.T) {
	local := []string{"PATH=/usr/bin", "HOME=/home/dev", "LANG=C.UTF-8", "DB_URL=localhost", "ONLY_LOCAL=1"}
	remote := []string{"PATH=/app/bin", "HOME=/root", "DB_URL=postgres.svc", "POD_NAME=api-1", "LC_ALL=C", "SECRET_TOKEN=x", "HOSTNAME=api-1"}
	cases := []struct {
		name  string
		rules Rules
		want  []string
	}{
		{"pod values win except the machine's", Rules{},
			[]string{"PATH=/usr/bin", "HOME=/home/dev", "LANG=C.UTF-8", "DB_URL=postgres.svc", "ONLY_LOCAL=1", "HOSTNAME=api-1", "POD_NAME=api-1", "SECRET_TOKEN=x"}},
		{"include narrows", Rules{Include: []string{"POD_*", "DB_*"}},
			[]string{"PATH=/usr/bin", "HOME=/home/dev", "LANG=C.UTF-8", "DB_URL=postgres.svc", "ONLY_LOCAL=1", "POD_NAME=api-1"}},
		{"exclude drops", Rules{Exclude: []string{"SECRET_*", "DB_URL"}},
			[]string{"PATH=/usr/bin", "HOME=/home/dev", "LANG=C.UTF-8", "DB_URL=localhost", "ONLY_LOCAL=1", "HOSTNAME=api-1", "POD_NAME=api-1"}},
		{"overrides last, even over kept", Rules{Overrides: map[string]string{"PATH": "/opt/bin", "NEW": "v"}},
			[]string{"PATH=/opt/bin", "HOME=/home/dev", "LANG=C.UTF-8", "DB_URL=postgres.svc", "ONLY_LOCAL=1", "HOSTNAME=api-1", "POD_NAME=api-1", "SECRET_TOKEN=x", "NEW=v"}},
		{"keep list replaced", Rules{KeepLocal: []string{}},
			[]string{"PATH=/app/bin", "HOME=/root", "LANG=C.UTF-8", "DB_URL=postgres.svc", "ONLY_LOCAL=1", "HOSTNAME=api-1", "LC_ALL=C", "POD_NAME=api-1", "SECRET_TOKEN=x"}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, Merge(local, remote, tc.rules)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestNoneImportsNothingButOverrides(t *testing.T) {
	got := Merge([]string{"PATH=/bin"}, []string{"DB_URL=x", "PATH=/pod"}, Rules{None: true, Overrides: map[string]string{"A": "1"}})
	if want := []string{"PATH=/bin", "A=1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDotenvEscapes(t *testing.T) {
	got := Dotenv([]string{"A=plain", `B=say "hi" \ $HOME`, "C=two\nlines", "EMPTY="})
	want := "A=\"plain\"\nB=\"say \\\"hi\\\" \\\\ \\$HOME\"\nC=\"two\\nlines\"\nEMPTY=\"\"\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
