package remotefiles

import (
	"os"
	"path/filepath"
)

// Read returns a remote file's content from the session's copy.
func (c *Cache) Read(path string) ([]byte, bool) {
	if present, ok := c.rootOf(path); !ok || !present {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(c.dir, path))
	return b, err == nil
}

// Provide serves content at path as if the pod had it (a file the plugin
// knows without fetching, such as /proc/sys/kernel/hostname).
func (c *Cache) Provide(path string, content []byte) error {
	dst := filepath.Join(c.dir, filepath.Clean("/"+path))
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(dst, content, 0o444); err != nil {
		return err
	}
	c.mu.Lock()
	c.roots[filepath.Clean(path)] = true
	c.mu.Unlock()
	return nil
}
