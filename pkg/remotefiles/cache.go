// Package remotefiles serves the pod's files at their original paths: each
// remote file is fetched whole once into a private directory, and the
// program's path calls on it are pointed at that copy, so reads are native.
package remotefiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// Fetcher reads one file as the target container sees it.
type Fetcher interface {
	File(path string) ([]byte, uint32, error)
}

// Cache holds the fetched copies for one session.
type Cache struct {
	dir string

	mu      sync.Mutex
	local   map[string]string // remote path -> local copy
	missing map[string]bool   // remote paths the pod does not have
	fetches int
}

// NewCache makes the session's private directory (mode 0700).
func NewCache() (*Cache, error) {
	dir, err := os.MkdirTemp("", "kubectl-mirror-files-")
	if err != nil {
		return nil, err
	}
	return &Cache{dir: dir, local: map[string]string{}, missing: map[string]bool{}}, nil
}

// Fetch copies each path from the pod. A path the pod lacks is remembered as
// missing (the program then gets ENOENT for it, as in the pod).
func (c *Cache) Fetch(f Fetcher, paths ...string) error {
	for _, p := range paths {
		data, mode, err := f.File(p)
		c.mu.Lock()
		c.fetches++
		c.mu.Unlock()
		var re *session.RemoteError
		if errors.As(err, &re) && re.Errno == unix.ENOENT {
			c.mu.Lock()
			c.missing[p] = true
			c.mu.Unlock()
			continue
		}
		if err != nil {
			return fmt.Errorf("read %s from the pod: %w", p, err)
		}
		local := filepath.Join(c.dir, strings.ReplaceAll(strings.TrimPrefix(p, "/"), "/", "_"))
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(local, data, os.FileMode(mode)&0o777); err != nil {
			return err
		}
		c.mu.Lock()
		c.local[p] = local
		c.mu.Unlock()
	}
	return nil
}

// Fetches counts round trips to the agent.
func (c *Cache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// Path points path calls on remote files at their copies. Opening one for
// writing fails with EROFS: the pod's files are never modified, and a
// read-only mount is what a program expects to see there.
func (c *Cache) Path(call *tracer.Call) tracer.Verdict {
	c.mu.Lock()
	local, ok := c.local[call.Path]
	missing := c.missing[call.Path]
	c.mu.Unlock()
	switch {
	case missing:
		return tracer.Fail(unix.ENOENT)
	case !ok:
		return tracer.Allow()
	case call.OpenFlag&(unix.O_WRONLY|unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC) != 0:
		return tracer.Fail(unix.EROFS)
	}
	return tracer.ReplacePath(local)
}

// Close removes the copies.
func (c *Cache) Close() error { return os.RemoveAll(c.dir) }
