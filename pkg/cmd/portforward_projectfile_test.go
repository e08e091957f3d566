package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
)

// portForwardFile is a team's project file with run's rules and
// port-forward's forwards side by side.
const portForwardFile = `target: deploy/api
namespace: shop
incoming: {mode: steal, filters: ["header:x-user: ^alice$"]}
portForward:
  local: ["15432:postgres:5432", "15353:kube-dns.kube-system:53/udp"]
  reverse: ["8080:127.0.0.1:3000"]
`

// completePortForward runs port-forward's Complete with args in dir.
func completePortForward(t *testing.T, dir string, args ...string) (*PortForwardOptions, *genericclioptions.ConfigFlags, error) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = os.Chdir(wd) }()
	kube := genericclioptions.NewConfigFlags(true)
	c, o := newPortForward(genericiooptions.NewTestIOStreamsDiscard(), kube, nil)
	kube.AddFlags(c.Flags())
	if err := c.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return o, kube, o.Complete(c, c.Flags().Args())
}

// A project file gives port-forward its target, namespace and forwards (its
// run rules, such as the steal's HTTP filter, stay run's); -L on the
// command line replaces the file's forwards; run ignores portForward.
func TestPortForwardTakesTheProjectFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, projectfile.Name), []byte(portForwardFile), 0o644); err != nil {
		t.Fatal(err)
	}
	o, kube, err := completePortForward(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.run.cfg.TargetArgs, " "); got != "deploy/api" || *kube.Namespace != "shop" {
		t.Errorf("target %q, namespace %q: want the file's", got, *kube.Namespace)
	}
	if len(o.forwards) != 2 || len(o.reverses) != 1 || len(o.run.cfg.HTTPFilters) != 0 {
		t.Errorf("forwards %v, reverses %v, filters %v: want the file's two -L and one -R, and no run filter", o.forwards, o.reverses, o.run.cfg.HTTPFilters)
	}
	o, _, err = completePortForward(t, dir, "-L", "18080:api:80")
	if err != nil || len(o.forwards) != 1 || len(o.reverses) != 0 {
		t.Errorf("with -L given: forwards %v, reverses %v, %v: want the command line's alone", o.forwards, o.reverses, err)
	}
	l, err := projectfile.Load(filepath.Join(dir, projectfile.Name))
	if err != nil {
		t.Fatal(err)
	}
	run := NewRunOptions(genericiooptions.NewTestIOStreamsDiscard(), kube, nil)
	c := &cobra.Command{Use: "run"}
	kube.AddFlags(c.Flags())
	run.AddFlags(c.Flags())
	if _, err := applyProjectFile(c, l, false); err != nil {
		t.Errorf("run refused a file with portForward keys: %v", err)
	}
}
