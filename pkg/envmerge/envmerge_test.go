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

// TestUnsetDropsBothSides: --env-unset removes a variable whether this
// machine or the pod has it (a kept-local one too); a loaded or --env value
// still sets it.
func TestUnsetDropsBothSides(t *testing.T) {
	local := []string{"PATH=/usr/bin", "AWS_PROFILE=dev", "AWS_REGION=eu-west-1", "KUBECONFIG=/home/dev/.kube/config", "DB_URL=localhost"}
	remote := []string{"AWS_ROLE_ARN=arn:pod", "DB_URL=postgres.svc", "POD_NAME=api-1"}
	cases := []struct {
		name  string
		rules Rules
		want  []string
	}{
		{"a local variable", Rules{Unset: []string{"KUBECONFIG"}},
			[]string{"PATH=/usr/bin", "AWS_PROFILE=dev", "AWS_REGION=eu-west-1", "DB_URL=postgres.svc", "AWS_ROLE_ARN=arn:pod", "POD_NAME=api-1"}},
		{"a glob, local and pod", Rules{Unset: []string{"AWS_*"}},
			[]string{"PATH=/usr/bin", "KUBECONFIG=/home/dev/.kube/config", "DB_URL=postgres.svc", "POD_NAME=api-1"}},
		{"on both sides: neither value", Rules{Unset: []string{"DB_URL"}},
			[]string{"PATH=/usr/bin", "AWS_PROFILE=dev", "AWS_REGION=eu-west-1", "KUBECONFIG=/home/dev/.kube/config", "AWS_ROLE_ARN=arn:pod", "POD_NAME=api-1"}},
		{"with no import", Rules{None: true, Unset: []string{"AWS_*", "KUBECONFIG"}},
			[]string{"PATH=/usr/bin", "DB_URL=localhost"}},
		{"load and --env still set it", Rules{Unset: []string{"AWS_*", "DB_URL"}, Load: []string{"DB_URL=from-file"}, Overrides: map[string]string{"AWS_REGION": "us-east-1"}},
			[]string{"PATH=/usr/bin", "KUBECONFIG=/home/dev/.kube/config", "POD_NAME=api-1", "DB_URL=from-file", "AWS_REGION=us-east-1"}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, Merge(local, remote, tc.rules)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestLoadPrecedence: local < pod < loaded file < --env, each key taking
// the highest layer that has it; a later pair of the files wins.
func TestLoadPrecedence(t *testing.T) {
	local := []string{"A=local", "B=local", "C=local", "D=local", "HOME=/home/dev"}
	remote := []string{"A=pod", "B=pod", "C=pod", "HOME=/root"}
	cases := []struct {
		name  string
		rules Rules
		want  []string
	}{
		{"no file", Rules{},
			[]string{"A=pod", "B=pod", "C=pod", "D=local", "HOME=/home/dev"}},
		{"file over pod and local", Rules{Load: []string{"B=file", "D=file", "E=file"}},
			[]string{"A=pod", "B=file", "C=pod", "D=file", "HOME=/home/dev", "E=file"}},
		{"--env over file", Rules{Load: []string{"A=file", "B=file"}, Overrides: map[string]string{"A": "flag"}},
			[]string{"A=flag", "B=file", "C=pod", "D=local", "HOME=/home/dev"}},
		{"later pair wins", Rules{Load: []string{"C=first", "C=second"}},
			[]string{"A=pod", "B=pod", "C=second", "D=local", "HOME=/home/dev"}},
		{"file sets a kept-local variable", Rules{Load: []string{"HOME=/srv"}},
			[]string{"A=pod", "B=pod", "C=pod", "D=local", "HOME=/srv"}},
		{"file applies with no import", Rules{None: true, Load: []string{"B=file"}},
			[]string{"A=local", "B=file", "C=local", "D=local", "HOME=/home/dev"}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, Merge(local, remote, tc.rules)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestKeptLocalOnlyWhenNamedExactly: --env-include PATH takes the pod's
// PATH; no glob does, and --env-exclude still wins.
func TestKeptLocalOnlyWhenNamedExactly(t *testing.T) {
	local := []string{"PATH=/usr/bin", "HOME=/home/dev"}
	remote := []string{"PATH=/app/bin", "HOME=/root", "POD_NAME=api-1"}
	cases := []struct {
		include, exclude []string
		want             []string
	}{
		{nil, nil, []string{"PATH=/usr/bin", "HOME=/home/dev", "POD_NAME=api-1"}},
		{[]string{"PATH"}, nil, []string{"PATH=/app/bin", "HOME=/home/dev"}},
		{[]string{"*"}, nil, []string{"PATH=/usr/bin", "HOME=/home/dev", "POD_NAME=api-1"}},
		{[]string{"PAT*"}, nil, []string{"PATH=/usr/bin", "HOME=/home/dev"}},
		{[]string{"PAT?"}, nil, []string{"PATH=/usr/bin", "HOME=/home/dev"}},
		{[]string{"[P]ATH"}, nil, []string{"PATH=/usr/bin", "HOME=/home/dev"}},
		{[]string{"*", "PATH"}, nil, []string{"PATH=/app/bin", "HOME=/home/dev", "POD_NAME=api-1"}},
		{[]string{"HOME"}, nil, []string{"PATH=/usr/bin", "HOME=/root"}},
		{[]string{"PATH"}, []string{"PATH"}, []string{"PATH=/usr/bin", "HOME=/home/dev"}},
	}
	for _, tc := range cases {
		got := Merge(local, remote, Rules{Include: tc.include, Exclude: tc.exclude})
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("include %q exclude %q (-want +got):\n%s", tc.include, tc.exclude, diff)
		}
	}
}
