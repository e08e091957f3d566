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
	if err := s.Put("ghcr.io/x/agent:v1", "ghcr.io/x/agent@sha256:aaa", false); err != nil {
		t.Fatal(err)
	}
	// A reused agent's different ID does not replace what was seen.
	if err := s.Put("ghcr.io/x/agent:v1", "ghcr.io/x/agent@sha256:bbb", false); err != nil {
		t.Fatal(err)
	}
	again := Open(s.path)
	if got := again.Get("ghcr.io/x/agent:v1"); got != "ghcr.io/x/agent@sha256:aaa" {
		t.Fatalf("got %q", got)
	}
	// An agent the plugin just started does (the image was rebuilt).
	if err := s.Put("ghcr.io/x/agent:v1", "ghcr.io/x/agent@sha256:ccc", true); err != nil {
		t.Fatal(err)
	}
	if got := Open(s.path).Get("ghcr.io/x/agent:v1"); got != "ghcr.io/x/agent@sha256:ccc" {
		t.Fatalf("after a fresh agent: %q", got)
	}
	if !Same("ghcr.io/x/agent@sha256:aaa", "sha256:aaa") || Same("sha256:aaa", "sha256:bbb") {
		t.Fatal("Same compares digests")
	}
}
