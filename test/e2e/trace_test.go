//go:build e2e

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// probeItemsPy connects to each HOST:PORT and reads each /path it is given,
// printing what happened: "conn ADDR ok|error", "file PATH SHA256|missing".
const probeItemsPy = `
import hashlib, socket, sys
for a in sys.argv[1:]:
    if a.startswith("/"):
        try:
            print("file", a, hashlib.sha256(open(a, "rb").read()).hexdigest())
        except OSError:
            print("file", a, "missing")
    else:
        h, p = a.rsplit(":", 1)
        try:
            socket.create_connection((h, int(p)), timeout=5).close()
            print("conn", a, "ok")
        except OSError:
            print("conn", a, "error")
`

// trace says "would go remote" by the same rules run follows: one program,
// the same flags, under both; what trace marks remote is what run sent to
// the pod (a connection that reached the pod's network, which this machine
// has no route to; a file whose bytes are not this machine's).
func TestTraceClassifiesAsRunActs(t *testing.T) {
	target, other := echoPods(t)
	items := []string{other.ip + ":9000", other.ip + ":9002", "/etc/hostname", "/etc/hosts", "/data/blob", "/etc/passwd"}
	flags := []string{"--local", other.ip + ":9000", "--fs-remote", "/data", "--fs-local", "/etc/hostname"}
	cmd := append([]string{"--", "python3", "-c", probeItemsPy}, items...)

	_, traceErr, code := plugin(t, append(append([]string{"trace", "--json"}, flags...), cmd...)...).run()
	if code != 0 {
		t.Fatalf("trace: exit %d\n%s", code, traceErr)
	}
	traced := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(traceErr))
	for sc.Scan() {
		var ev struct {
			Syscall, Addr, Path string
			Remote              bool
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		for _, it := range items {
			if (ev.Syscall == "connect" && ev.Addr == it) || (strings.HasPrefix(ev.Syscall, "open") && ev.Path == it) {
				traced[it] = ev.Remote
			}
		}
	}

	out, runErr, code := plugin(t, append(append([]string{"run", "pod/" + target.name}, flags...), cmd...)...).run()
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, runErr)
	}
	sent := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		if f[0] == "conn" {
			sent[f[1]] = f[2] == "ok"
		} else {
			sent[f[1]] = f[2] != localSum(f[1])
		}
	}
	want := map[string]bool{other.ip + ":9000": false, other.ip + ":9002": true, "/etc/hostname": false, "/etc/hosts": true, "/data/blob": true, "/etc/passwd": false}
	for _, it := range items {
		tr, ok1 := traced[it]
		rn, ok2 := sent[it]
		if !ok1 || !ok2 || tr != rn || rn != want[it] {
			t.Errorf("%s: trace says remote=%v (seen %v), run sent remote=%v (seen %v), want %v", it, tr, ok1, rn, ok2, want[it])
		}
	}
	if t.Failed() {
		t.Logf("run stdout:\n%s\nrun stderr:\n%s", out, runErr)
	}
}

// localSum is this machine's file's sha256, or "missing".
func localSum(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "missing"
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
