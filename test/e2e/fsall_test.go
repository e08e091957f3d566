//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --fs-mode all: python3, node and a static Go program read the pod's
// /data (not a mount, not a default root, no --fs-remote) while starting
// from this machine's interpreters and libraries; the pod's file system is
// read-only to them and its symlinks never lead to this machine's files.
func TestReadEverythingMode(t *testing.T) {
	programs(t)
	kc := kubeconfig(t)
	target, _ := echoPods(t)
	blob, err := os.ReadFile(filepath.Join(repoRoot(t), ".cluster", "image-build", "blob"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(blob)
	want := hex.EncodeToString(sum[:])
	py := `
import hashlib, os
print(",".join(sorted(os.listdir("/data"))), hashlib.sha256(open("/data/blob", "rb").read()).hexdigest())
print("shadow", os.path.exists("/data/host-shadow"), os.path.exists("/data/dotdot-shadow"))
try:
    os.mkdir("/data/new")
except OSError as e:
    print("mkdir", e.strerror)
`
	node := `const fs = require("fs"), c = require("crypto");
console.log(fs.readdirSync("/data").sort().join(","), c.createHash("sha256").update(fs.readFileSync("/data/blob")).digest("hex"));`
	for name, cmd := range map[string][]string{
		"python3":   {"python3", "-c", py},
		"node":      {"node", "-e", node},
		"static Go": {"sh", "-c", testProgs.netprobe + " cat /data/blob | sha256sum"},
	} {
		out, errOut, code := mirror(t, kc, append([]string{"run", "pod/" + target.name, "--fs-mode", "all", "--"}, cmd...)...)
		wantOut := "blob,dotdot-shadow,host-shadow " + want // the listing and the bytes
		if name == "static Go" {
			wantOut = want + "  -" // the bytes
		}
		if code != 0 || !strings.Contains(out, wantOut) {
			t.Errorf("%s: exit %d, got %q, want the pod's /data listing and the blob's sha256 %s\n%s", name, code, out, want, errOut)
		}
		if name == "python3" && (!strings.Contains(out, "shadow False False") || !strings.Contains(out, "mkdir Read-only file system")) {
			t.Errorf("python3: the pod's view leaked or was writable:\n%s", out)
		}
	}
}
