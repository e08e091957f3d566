package tracer

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/tracer/internal/launcher"
)

// TestLauncherWithoutATracerRunsNothing: when the plugin dies before it
// seized the launcher, the go-ahead pipe closes all the same; the launcher
// must then exit without running the program, which nothing would intercept.
func TestLauncherWithoutATracerRunsNothing(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.Close() // the "plugin" is gone before it seized anyone
	defer r.Close()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "--", "echo", "SHOULD-NOT-RUN")
	cmd.Env = append(os.Environ(), launcher.Env+"=/bin/echo")
	cmd.ExtraFiles = []*os.File{r}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if cmd.ProcessState.ExitCode() != 127 || strings.Contains(out.String(), "SHOULD-NOT-RUN") || !strings.Contains(out.String(), "the tracer is gone") {
		t.Fatalf("exit %d (%v), output %q; want 127 and the program not run", cmd.ProcessState.ExitCode(), err, out.String())
	}
}
