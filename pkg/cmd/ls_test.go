package cmd

import (
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
)

func TestContainersColumnMarksSidecars(t *testing.T) {
	got := containersColumn([]kube.ListedPort{
		{Container: "app", Ports: []string{"8080/TCP", "9000/TCP"}},
		{Container: "worker", Ports: []string{}},
		{Container: "proxy", Ports: []string{"15001/TCP"}, Sidecar: true},
		{Container: "logs", Ports: []string{}, Sidecar: true},
	})
	if want := "app (8080/TCP,9000/TCP) worker proxy[sidecar] (15001/TCP) logs[sidecar]"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// Nothing to list is kubectl's line on stderr, not an empty table; -o json
// still prints its document.
func TestLsWithNothingToListSaysSo(t *testing.T) {
	for _, tc := range []struct {
		output, ns, stdout, stderr string
	}{
		{"", "nosuchns", "", "No resources found in nosuchns namespace.\n"},
		{"wide", "nosuchns", "", "No resources found in nosuchns namespace.\n"},
		{"", "", "", "No resources found\n"}, // -A
		{"json", "nosuchns", "{\n  \"targets\": null\n}\n", ""},
	} {
		streams, _, out, errOut := genericiooptions.NewTestIOStreams()
		o := &LsOptions{IOStreams: streams, output: tc.output}
		if err := o.print(nil, nil, tc.ns); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.stdout || errOut.String() != tc.stderr {
			t.Errorf("-o %q -n %q: stdout %q, stderr %q; want %q, %q", tc.output, tc.ns, out, errOut, tc.stdout, tc.stderr)
		}
	}
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	o := &LsOptions{IOStreams: streams}
	if err := o.print([]kube.Listed{{Namespace: "shop", Target: "deployment/api"}}, nil, "shop"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "deployment/api") || errOut.Len() != 0 {
		t.Errorf("one target: stdout %q, stderr %q", out, errOut)
	}
}
