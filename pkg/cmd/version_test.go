package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

func TestVersionPrintsPluginAndAgentImage(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := Execute(context.Background(), streams, []string{"version"}, Logging{}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	want := "kubectl-mirror " + version.Version + "\nagent image: " + version.AgentRepository + ":" + version.Version + "\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestVersionJSON(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := Execute(context.Background(), streams, []string{"version", "-o", "json"}, Logging{}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["version"] != version.Version || !strings.HasSuffix(got["agentImage"], ":"+version.Version) {
		t.Fatalf("got %v", got)
	}
}

func TestBadInputIsOneLine(t *testing.T) {
	for _, args := range [][]string{{"version", "-o", "yaml"}, {"no-such-command"}, {"version", "--bogus"}} {
		streams, _, _, errOut := genericiooptions.NewTestIOStreams()
		if code := Execute(context.Background(), streams, args, Logging{}); code != 1 {
			t.Errorf("%v: exit code %d, want 1", args, code)
		}
		if lines := strings.Count(errOut.String(), "\n"); lines != 1 || !strings.HasPrefix(errOut.String(), "error: ") {
			t.Errorf("%v: want one error line, got %q", args, errOut.String())
		}
	}
}

func TestHelpListsCommandsAndKubeconfigFlags(t *testing.T) {
	streams, _, out, _ := genericiooptions.NewTestIOStreams()
	if code := Execute(context.Background(), streams, []string{"--help"}, Logging{}); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, want := range []string{"version", "run", "trace", "--kubeconfig", "--context", "--namespace", "--verbosity", "kubectl mirror"} {
		if !bytes.Contains(out.Bytes(), []byte(want)) {
			t.Errorf("help lacks %q", want)
		}
	}
}
