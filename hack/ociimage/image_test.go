package main

import (
	"os"
	"path/filepath"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestIndexIsReproducibleAndMultiArch: two builds from the same files give
// the same index digest, with one linux image per architecture, each with
// its own binary and the entrypoint.
func TestIndexIsReproducibleAndMultiArch(t *testing.T) {
	dir := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		if err := os.WriteFile(filepath.Join(dir, "agent-"+arch), []byte("binary for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	spec := imageSpec{Ref: "example.test/agent:v1", Archs: []string{"amd64", "arm64"}, Entrypoint: "/agent",
		Entries: []entry{{Path: "/agent", Source: filepath.Join(dir, "agent-{arch}")}, {Path: "/tmp", Dir: true}}}
	digests := map[v1.Hash]bool{}
	for i := 0; i < 2; i++ {
		idx, err := buildIndex(spec)
		if err != nil {
			t.Fatal(err)
		}
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests[d] = true
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 2 || im.Manifests[0].Platform.Architecture != "amd64" || im.Manifests[1].Platform.Architecture != "arm64" {
			t.Fatalf("index manifests: %+v", im.Manifests)
		}
		img, err := idx.Image(im.Manifests[1].Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil || cf.Architecture != "arm64" || cf.OS != "linux" || cf.Config.Entrypoint[0] != "/agent" {
			t.Fatalf("arm64 config: %+v, %v", cf, err)
		}
	}
	if len(digests) != 1 {
		t.Fatalf("two builds gave %d digests", len(digests))
	}
}
