//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Under --fs-mode all, from a working directory four levels below a top
// directory the pod lacks: Node resolves every component of its script
// from /, Java finds a class directory beside the working directory, and
// `ls /` lists the pod's entries and this machine's.
func TestReadEverythingFromADeepWorkingDirectory(t *testing.T) {
	target, _ := echoPods(t)
	top := filepath.Join("/var/lib", "kubectl-mirror-e2e-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	t.Cleanup(func() { os.RemoveAll(top) })
	work := filepath.Join(top, "w", "x", "y", "z")
	classes := filepath.Join(top, "w", "x", "y", "classes")
	for _, d := range []string{filepath.Join(work, "lib"), classes} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(work, "lib", "helper.mjs"), "export const where = 'helper here';\n")
	write(filepath.Join(work, "script.mjs"), "import { where } from './lib/helper.mjs';\nconsole.log('node:', where);\n")
	write(filepath.Join(classes, "Hello.java"), "public class Hello { public static void main(String[] a) { System.out.println(\"java: hello from beside\"); } }\n")
	if out, err := exec.Command("javac", "-d", classes, filepath.Join(classes, "Hello.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"node", []string{"node", "script.mjs"}, []string{"node: helper here"}},
		{"java", []string{"java", "-cp", "../classes", "Hello"}, []string{"java: hello from beside"}},
		// /echo is the pod's (its image holds it), /usr and /var/lib's
		// top this machine's.
		{"ls", []string{"sh", "-c", "ls /; ls /var/lib"}, []string{"echo\n", "usr\n", "bin\n", filepath.Base(top) + "\n"}},
	} {
		out, errOut, code := plugin(t, append([]string{"run", "pod/" + target.name, "--fs-mode", "all", "--"}, c.args...)...).dir(work).run()
		if code != 0 {
			t.Errorf("%s: exit %d\n%s\n%s", c.name, code, out, errOut)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: no %q in:\n%s\n%s", c.name, w, out, errOut)
			}
		}
	}
}
