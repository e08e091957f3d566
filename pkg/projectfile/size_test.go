package projectfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesAFileOverTheLimit: a file of exactly 1 MiB loads; one
// byte more is refused in one line naming the file and the limit, before any
// parsing (a 40 MB file used to cost seconds and hundreds of MB).
func TestLoadRefusesAFileOverTheLimit(t *testing.T) {
	const limit = 1 << 20 // spelled out, so the test pins the documented limit
	path := filepath.Join(t.TempDir(), Name)
	head := "target: deploy/api\n"
	fill := func(n int) []byte {
		b := []byte(head + "#" + strings.Repeat("x", n-len(head)-2) + "\n")
		if len(b) != n {
			t.Fatalf("built %d bytes, want %d", len(b), n)
		}
		return b
	}
	if err := os.WriteFile(path, fill(limit), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := Load(path); err != nil || l.File.Target != "deploy/api" {
		t.Fatalf("a file of exactly the limit: %v", err)
	}
	if err := os.WriteFile(path, fill(limit+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("a file one byte over the limit loaded")
	}
	if msg := err.Error(); !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, "1 MiB") || strings.Contains(msg, "\n") {
		t.Fatalf("error %q, want one line naming %s and the 1 MiB limit", msg, path)
	}
}
