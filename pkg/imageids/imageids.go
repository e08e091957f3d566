// Package imageids remembers, for each agent image reference, the image the
// kubelet ran for it when this user's plugin last started an agent. A reused
// agent whose container runs another image under the same reference (a tag
// moved in the registry, a node that holds something else by that name) is
// not taken for the user's. The file lives beside the user's key.
package imageids

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// FileName is the store's name in the config directory.
const FileName = "agent-images.json"

// maxFile bounds what is read: a few hundred references at most.
const maxFile = 1 << 20

// Store is the remembered image IDs, kept in one file.
type Store struct {
	path string
	mu   sync.Mutex
}

// Open returns the store kept at path (created when first written).
func Open(path string) *Store { return &Store{path: path} }

// Get returns the image ID remembered for ref ("" for none).
func (s *Store) Get(ref string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, _ := s.read()
	return m[ref]
}

// Put remembers id for ref: in place of what was remembered when replace
// is set (the plugin just started an agent and saw what the kubelet ran),
// else only when nothing was (the first agent seen of that image).
func (s *Store) Put(ref, id string, replace bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.read()
	if err != nil {
		return err
	}
	if id == "" || m[ref] == id || (m[ref] != "" && !replace) {
		return nil
	}
	m[ref] = id
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	// Written whole and renamed into place: concurrent runs see the old
	// file or the new one, never half of one.
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".agent-images-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.path)
}

func (s *Store) read() (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return m, err
	}
	if len(b) > maxFile {
		return m, fmt.Errorf("%s: larger than %d bytes", s.path, maxFile)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return map[string]string{}, fmt.Errorf("%s: %w", s.path, err)
	}
	return m, nil
}

// Same reports whether two image IDs the kubelet reported name one image:
// their digests agree ("repo@sha256:x" and "sha256:x" alike).
func Same(a, b string) bool {
	return digest(a) == digest(b)
}

func digest(id string) string {
	if i := strings.LastIndex(id, "@"); i >= 0 {
		id = id[i+1:]
	}
	return strings.TrimPrefix(id, "docker-pullable://")
}
