package cmd

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
)

func traceCommand() (*TraceOptions, *cobra.Command) {
	o := NewTraceOptions(genericiooptions.NewTestIOStreamsDiscard(), nil)
	c := &cobra.Command{}
	o.AddFlags(c.Flags())
	return o, c
}

// noSuchHost is a resolver that knows no name.
func noSuchHost(context.Context, string) ([]netip.Addr, error) {
	return nil, errors.New("no such host")
}

// TestUnresolvedHostNamesWhereItWasGiven: a --local/--remote host that does
// not resolve, found only once the session is up, is one line naming the
// flag, or the project file's line and key when it came from there.
func TestUnresolvedHostNamesWhereItWasGiven(t *testing.T) {
	path := filepath.Join(t.TempDir(), projectfile.Name)
	if err := os.WriteFile(path, []byte("outgoing:\n  local: [nosuchhost.invalid]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := projectfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		file bool
		want string
	}{
		{[]string{"--local", "nosuchhost.invalid"}, false, `--local "nosuchhost.invalid": no such host`},
		{[]string{"--remote", "nosuchhost.invalid:443"}, false, `--remote "nosuchhost.invalid:443": no such host`},
		{nil, true, path + `:2: outgoing.local: "nosuchhost.invalid": no such host`},
	} {
		o, c := traceCommand()
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if tc.file {
			if _, err := applyProjectFile(c, l, true); err != nil {
				t.Fatal(err)
			}
		}
		_, err := o.rules.Resolve(context.Background(), o.localHosts, o.remoteHosts, noSuchHost, noSuchHost)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v (file %v): error %v, want %s", tc.args, tc.file, err, tc.want)
		}
	}
}

// TestEmptyFSPatternNamesWhereItWasGiven: an empty --fs-remote is refused in one
// line naming the flag (it used to mean "/", every path); from the project
// file, naming the file's line and key.
func TestEmptyFSPatternNamesWhereItWasGiven(t *testing.T) {
	for _, flag := range []string{"--fs-remote", "--fs-local"} {
		_, c := traceCommand()
		err := c.ParseFlags([]string{flag, ""})
		if err == nil || !strings.Contains(err.Error(), `"`+flag+`"`) || !strings.Contains(err.Error(), "empty pattern") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s '': %v, want one line naming the flag and the empty pattern", flag, err)
		}
	}
	path := filepath.Join(t.TempDir(), projectfile.Name)
	if err := os.WriteFile(path, []byte("files:\n  remote: ['']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := projectfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	_, c := traceCommand()
	_, err = applyProjectFile(c, l, true)
	if want := path + ":2: files.remote: empty pattern"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("files.remote: ['']: %v, want %s...", err, want)
	}
}
