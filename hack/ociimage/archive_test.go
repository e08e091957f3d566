package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestArchiveIsReproducibleAndComplete(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tool")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := imageSpec{Ref: "mirror.test/x:v1", Arch: "amd64", Entrypoint: "/usr/bin/tool",
		Entries: []entry{{Path: "/usr/bin/tool", Source: bin}, {Path: "/tmp", Dir: true}, {Path: "/bin/t", Link: "../usr/bin/tool"}}}
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	if _, err := writeArchive(spec, a); err != nil {
		t.Fatal(err)
	}
	if _, err := writeArchive(spec, b); err != nil {
		t.Fatal(err)
	}
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("two archives of the same input differ")
	}
	files := untar(t, ab)
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(files["index.json"], &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Manifests) != 1 || index.Manifests[0].Annotations["io.containerd.image.name"] != "mirror.test/x:v1" {
		t.Fatalf("index: %+v", index)
	}
	var manifest struct {
		Layers []descriptor `json:"layers"`
	}
	if err := json.Unmarshal(files["blobs/sha256/"+index.Manifests[0].Digest[7:]], &manifest); err != nil {
		t.Fatal(err)
	}
	layer := untar(t, files["blobs/sha256/"+manifest.Layers[0].Digest[7:]])
	for _, want := range []string{"usr/", "usr/bin/", "usr/bin/tool", "tmp/", "bin/t"} {
		if _, ok := layer[want]; !ok {
			t.Errorf("layer lacks %s (has %v)", want, keys(layer))
		}
	}
	if string(layer["usr/bin/tool"]) != "#!/bin/true\n" {
		t.Errorf("file content %q", layer["usr/bin/tool"])
	}
}

func untar(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[h.Name] = data
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
