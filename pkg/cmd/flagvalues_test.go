package cmd

import (
	"context"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
)

func runFlags() (*RunOptions, *pflag.FlagSet) {
	o := NewRunOptions(genericiooptions.NewTestIOStreamsDiscard(), nil, nil)
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	o.AddFlags(fs)
	return o, fs
}

// Flags land typed in the run's config, parsed once.
func TestRunFlagsLandInTheConfig(t *testing.T) {
	o, fs := runFlags()
	dir := t.TempDir()
	err := fs.Parse([]string{"--port-map", "3000:8080", "--http-filter", "header:X-User: ^me$", "--incoming", "steal",
		"--local", "10.0.0.0/8", "--remote", "db.internal:5432", "--fs-remote", "/app/config/**", "--fs-map", "/app/x=" + dir,
		"--fs-map", "/tmp/out=" + dir + ":rw", "--env", "A=1", "--agent-image-pull-policy", "Never", "--fs-mode", "all"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.PortMap[3000] != 8080 || len(c.HTTPFilters) != 1 || c.HTTPFilters[0].Name != "X-User" || c.Incoming != protocol.ModeSteal ||
		c.Outgoing.Local[0] != (outgoing.Rule{Prefix: netip.MustParsePrefix("10.0.0.0/8")}) || c.RemoteHosts[0] != (outgoing.HostRule{Host: "db.internal", Port: 5432, From: `--remote "db.internal:5432"`}) ||
		c.FSRemote[0] != "/app/config" || c.FSMap["/app/x"] != (remotefiles.Mapping{Local: dir}) ||
		c.FSMap["/tmp/out"] != (remotefiles.Mapping{Local: dir, Write: true}) || c.Env.Overrides["A"] != "1" ||
		c.Agent.PullPolicy != corev1.PullNever || c.FSMode != "all" {
		t.Fatalf("config: %+v", c)
	}
}

// A bad value is one line naming the flag and the fix.
func TestBadRunFlagsSayTheFix(t *testing.T) {
	for args, want := range map[string]string{
		"--port-map 3000":                     "use LOCAL:REMOTE",
		"--http-filter header:X":              "use 'header:NAME: REGEXP'",
		"--http-filter path:(":                "missing closing )",
		"--fs-mode bogus":                     "use remote, local, all",
		"--incoming sideways":                 "use mirror, steal, off",
		"--agent-image-pull-policy Sometimes": "use Always, IfNotPresent, Never",
		"--env NOEQ":                          "use KEY=VALUE",
		"--fs-remote relative":                "use an absolute path",
		"--fs-map /app=/nonexistent-dir":      "must exist on this machine",
		"--fs-map /app=/nonexistent-dir:rw":   "/nonexistent-dir must exist on this machine",
		"--local 10.0.0.0/33":                 "use a CIDR",
	} {
		_, fs := runFlags()
		err := fs.Parse(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), strings.Fields(args)[0]) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line naming the flag and %q", args, err, want)
		}
	}
}

// A flag whose default is empty shows no default in help: no
// "(default map[])", "(default [])" or "(default [] [])".
func TestHelpShowsNoEmptyDefaults(t *testing.T) {
	empty := regexp.MustCompile(`\(default (map)?\[.*`)
	for _, command := range []string{"run", "trace", "ls"} {
		streams, _, out, _ := genericiooptions.NewTestIOStreams()
		if code := Execute(context.Background(), streams, []string{command, "--help"}, Logging{}); code != 0 {
			t.Fatalf("%s --help: exit code %d", command, code)
		}
		if !strings.Contains(out.String(), "--local") && command != "ls" {
			t.Fatalf("%s --help lists no --local:\n%s", command, out)
		}
		for _, line := range empty.FindAllString(out.String(), -1) {
			t.Errorf("%s --help: %s", command, line)
		}
	}
	// A value given is still what String says.
	o, fs := runFlags()
	if err := fs.Parse([]string{"--env", "A=1", "--local", "10.0.0.0/8"}); err != nil {
		t.Fatal(err)
	}
	if got := fs.Lookup("env").Value.String(); got != "map[A:1]" {
		t.Errorf("--env A=1 reads back %q", got)
	}
	if got := fs.Lookup("local").Value.String(); !strings.Contains(got, "10.0.0.0/8") {
		t.Errorf("--local 10.0.0.0/8 reads back %q (config %+v)", got, o.cfg.Outgoing.Local)
	}
}
