package imageids

import (
	"path/filepath"
	"testing"
)

func TestStoreRemembersTheFirstImageOfAReference(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), FileName))
	if got := s.Get("ghcr.io/x/agent:v1"); got != "" {
		t.Fatalf("empty store: %q", got)
	}
	if err := s.Put("ghcr.io/x/agent:v1", "ghcr.io/x/agent@sha256:aaa"); err != nil {
		t.Fatal(err)
	}
	// A later, different ID does not replace what was seen first.
	if err := s.Put("ghcr.io/x/agent:v1", "ghcr.io/x/agent@sha256:bbb"); err != nil {
		t.Fatal(err)
	}
	again := Open(s.path)
	if got := again.Get("ghcr.io/x/agent:v1"); got != "ghcr.io/x/agent@sha256:aaa" {
		t.Fatalf("got %q", got)
	}
	if !Same("ghcr.io/x/agent@sha256:aaa", "sha256:aaa") || Same("sha256:aaa", "sha256:bbb") {
		t.Fatal("Same compares digests")
	}
}
