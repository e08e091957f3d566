//go:build e2e

package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// TestProjectFileIsTheWholeCommand: with a project file at the root of a
// repository, `kubectl mirror run -- CMD` from a subdirectory takes its
// target, namespace and environment; a flag overrides a key.
func TestProjectFileIsTheWholeCommand(t *testing.T) {
	repo := testenv.WriteFiles(t, map[string]string{
		".git/HEAD":            "ref: refs/heads/main\n",
		".kubectl-mirror.yaml": "target: deploy/echo\nnamespace: default\nenv:\n  set:\n    X: from-the-file\n  exclude: [FROM_*]\n",
		"services/api/README":  "the api\n",
	})
	sub := filepath.Join(repo, "services", "api")
	script := `echo "$X|$LITERAL|$FROM_CONFIGMAP"`
	out, errOut, code := plugin(t, "run", "--", "sh", "-c", script).dir(sub).timeout(4 * time.Minute).run()
	if code != 0 || out != "from-the-file|literal-value|\n" || !strings.Contains(errOut, "settings from "+filepath.Join(repo, ".kubectl-mirror.yaml")) {
		t.Fatalf("exit %d, stdout %q\nstderr: %s", code, out, errOut)
	}
	out, errOut, code = plugin(t, "run", "--env", "X=from-the-flag", "--", "sh", "-c", script).dir(sub).timeout(4 * time.Minute).run()
	if code != 0 || out != "from-the-flag|literal-value|\n" {
		t.Fatalf("a flag over the file: exit %d, stdout %q\nstderr: %s", code, out, errOut)
	}
}
