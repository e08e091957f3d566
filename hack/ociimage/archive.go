package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// imageSpec describes the image to write.
type imageSpec struct {
	Ref        string
	Arch       string
	Entrypoint string
	User       string
	Entries    []entry
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Platform    map[string]string `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// writeArchive writes an OCI image layout as a tar at out and returns the
// manifest digest.
func writeArchive(spec imageSpec, out string) (string, error) {
	layer, err := buildLayer(spec.Entries)
	if err != nil {
		return "", err
	}
	blobs := map[string][]byte{}
	add := func(mediaType string, b []byte) descriptor {
		sum := sha256.Sum256(b)
		d := "sha256:" + hex.EncodeToString(sum[:])
		blobs[d] = b
		return descriptor{MediaType: mediaType, Digest: d, Size: len(b)}
	}
	layerDesc := add("application/vnd.oci.image.layer.v1.tar", layer)
	config := map[string]any{
		"architecture": spec.Arch,
		"os":           "linux",
		"config": map[string]any{
			"Entrypoint": []string{spec.Entrypoint},
			"User":       spec.User,
			"WorkingDir": "/",
			"Env":        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{layerDesc.Digest}},
		"history": []map[string]string{{"created_by": "kubectl-mirror hack/ociimage"}},
	}
	configDesc := add("application/vnd.oci.image.config.v1+json", mustJSON(config))
	manifest := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        configDesc,
		"layers":        []descriptor{layerDesc},
	}
	manifestDesc := add("application/vnd.oci.image.manifest.v1+json", mustJSON(manifest))
	manifestDesc.Platform = map[string]string{"architecture": spec.Arch, "os": "linux"}
	manifestDesc.Annotations = map[string]string{
		"io.containerd.image.name":          spec.Ref,
		"org.opencontainers.image.ref.name": spec.Ref[strings.LastIndex(spec.Ref, ":")+1:],
	}
	index := mustJSON(map[string]any{"schemaVersion": 2, "manifests": []descriptor{manifestDesc}})

	files := map[string][]byte{
		"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`),
		"index.json": index,
	}
	for d, b := range blobs {
		files["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")] = b
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	return manifestDesc.Digest, os.WriteFile(out, tarOf(files), 0o644)
}

func tarOf(files map[string][]byte) []byte {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		// Writes to a bytes.Buffer cannot fail.
		_ = tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg})
		_, _ = tw.Write(files[n])
	}
	_ = tw.Close()
	return buf.Bytes()
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only static, marshalable values reach here
	}
	return b
}
