// Package remotefiles serves the pod's files at their original paths. Each
// remote root (a file or a directory) is fetched whole, once, into a private
// directory that mirrors the pod's layout (symlinks included, so Kubernetes'
// ..data atomic-writer layout resolves as in the pod), and the program's path
// calls under it are pointed at the copy: reads, stat, readlink and directory
// listings are native and agree with each other.
package remotefiles

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// Fetcher walks a tree as the target container sees it.
type Fetcher interface {
	Tree(path string, fn func(e protocol.TreeEntry, r io.Reader) error) error
}

// Cache holds one session's copies.
type Cache struct {
	sess  *sessionDir
	dir   string   // the pod's path P is at dir+P
	local []string // --fs-local prefixes: stay local even under a remote root
	// localExact: directories local themselves (not what else they hold):
	// the ancestors of the program's working directory.
	localExact []string
	lazy       *lazyFS            // --fs-mode all; nil otherwise
	maps       map[string]Mapping // --fs-map: pod path -> local file or directory
	write      *writeback         // --fs-write; nil: the pod's files are read-only
	meta       podMeta            // the pod's modes and times on the copies

	mu      sync.Mutex
	roots   map[string]bool // remote root -> present in the pod
	statfs  map[string]*protocol.Statfs
	fetches int
	bytes   int64
}

// NewCache makes the session's private directory (mode 0700) under base
// (BaseDir in real use), first removing what killed sessions left there.
func NewCache(base string, local []string) (*Cache, error) {
	sd, err := newSessionDir(base)
	if err != nil {
		return nil, fmt.Errorf("a private directory for the pod's files: %w", err)
	}
	return &Cache{sess: sd, dir: sd.path, local: local, roots: map[string]bool{}, statfs: map[string]*protocol.Statfs{}}, nil
}

// Fetch copies each root from the pod. A root the pod lacks is remembered
// as missing: the program then gets ENOENT under it, as in the pod.
func (c *Cache) Fetch(f Fetcher, roots ...string) error {
	roots = outermost(roots)
	// Known before any fetch, so an absolute symlink into any root is rewritten.
	c.mu.Lock()
	for _, root := range roots {
		c.roots[root] = true
	}
	c.mu.Unlock()
	for _, root := range roots {
		err := f.Tree(root, func(e protocol.TreeEntry, r io.Reader) error { return c.materialize(root, e, r) })
		c.mu.Lock()
		c.fetches++
		var re *session.RemoteError
		switch {
		case errors.As(err, &re) && (re.Errno == unix.ENOENT || re.Errno == unix.ENOTDIR):
			c.roots[root] = false
			err = nil
		case err == nil:
			c.roots[root] = true
		}
		c.mu.Unlock()
		if err != nil {
			return fmt.Errorf("read %s from the pod: %w", root, err)
		}
	}
	return nil
}

func (c *Cache) materialize(root string, e protocol.TreeEntry, r io.Reader) error {
	rel := filepath.Clean("/" + e.Path) // never above the root
	dst := filepath.Join(c.dir, root, rel)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	switch e.Type {
	case protocol.TreeDir:
		// Owner-writable whatever the pod says, so the copy can be removed.
		if err := os.MkdirAll(dst, 0o700); err != nil {
			return err
		}
		c.meta.apply(dst, e)
		return nil
	case protocol.TreeFile:
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(e.Mode&0o777)|0o600)
		if err != nil {
			return err
		}
		n, err := io.Copy(f, r)
		c.mu.Lock()
		c.bytes += n
		c.mu.Unlock()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			c.meta.apply(dst, e)
		}
		return err
	case protocol.TreeSymlink:
		if err := os.Symlink(c.linkTarget(root, filepath.Join(root, rel), e.Link), dst); err != nil {
			return err
		}
		c.meta.apply(dst, e)
	}
	return nil
}

// linkTarget keeps a relative symlink as it is while it stays inside its root
// (so readlink shows what the pod shows, ..data/app.conf), and otherwise
// points it at the copy of what it names in the pod: a link never leads to
// this machine's files, whatever "/" or ".." it holds.
func (c *Cache) linkTarget(root, link, target string) string {
	inPod := target
	if !filepath.IsAbs(target) {
		inPod = filepath.Join(filepath.Dir(link), target)
		if under(inPod, root) {
			return target
		}
	}
	return filepath.Join(c.dir, filepath.Clean("/"+inPod))
}

// Stats returns the round trips to the agent and the bytes copied.
func (c *Cache) Stats() (fetches int, bytes int64) {
	lazy := c.lazyFetches()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches + lazy, c.bytes
}

// Path points path calls under a remote root at the copy. Opening a remote
// file for writing, or changing a remote path, fails with EROFS, as on the
// read-only mount a program expects to find there; in write mode
// (--fs-write) writeVerdict carries the change out in the pod instead.
func (c *Cache) Path(call *tracer.Call) tracer.Verdict {
	p := call.Path
	writes := call.OpenFlag&(unix.O_WRONLY|unix.O_RDWR|unix.O_CREAT|unix.O_TRUNC) != 0
	if call.Mutates || writes {
		if v, ok := c.mapWrite(call); ok {
			return v
		}
		// Nothing a remote path names is changed here: not the file of the
		// same name on this machine, not the session's copy (reached through
		// a directory fd or a cwd inside it). The pod's files are read-only
		// unless write mode makes the change in the pod.
		if c.isRemote(p) || (call.Path2 != "" && c.isRemote(call.Path2)) {
			if c.write != nil {
				return c.writeVerdict(call)
			}
			return tracer.Fail(unix.EROFS)
		}
		if call.Mutates {
			return tracer.Allow()
		}
	}
	if c.lazy != nil && under(p, c.dir) && p != c.dir {
		// Relative to a cwd inside the copy (a chdir into the pod's view):
		// the pod's path, fetched like any other.
		p = strings.TrimPrefix(p, c.dir)
		call.Path = p
	}
	if local, ok := c.mapped(p); ok {
		return tracer.ReplacePath(local)
	}
	if p == "" || c.isLocal(p) {
		return tracer.Allow()
	}
	present, ok := c.rootOf(p)
	switch {
	case !ok && c.lazyRemote(p):
		return c.lazyPath(call)
	case !ok && c.isMissingAncestor(p):
		// /etc/app of a pod mounting /etc/app/config: a directory in the pod,
		// absent here; the copy has it, holding the mounts below it.
		return tracer.ReplacePath(filepath.Join(c.dir, p))
	case !ok:
		return tracer.Allow()
	case !present:
		return tracer.Fail(unix.ENOENT)
	}
	return tracer.ReplacePath(filepath.Join(c.dir, p))
}

// isRemote: p is served from the pod (under a remote root, or a directory
// above one that only the pod has) or lies in the session's copy.
func (c *Cache) isRemote(p string) bool {
	if p == "" {
		return false
	}
	if under(p, c.dir) {
		return true
	}
	if _, ok := c.mapped(p); ok {
		return true // read-only like the pod's files it stands for
	}
	if c.isLocal(p) {
		return false
	}
	return c.matcher().Remote(p) || (!c.isLocal(p) && c.isMissingAncestor(p))
}

// matcher is the session's rules as a Matcher (what trace reports).
func (c *Cache) matcher() Matcher {
	c.mu.Lock()
	m := Matcher{Local: c.local, LocalExact: c.localExact}
	for r := range c.roots {
		m.Roots = append(m.Roots, r)
	}
	c.mu.Unlock()
	if c.lazy != nil {
		m.All, m.AllLocal = true, c.lazy.local
	}
	return m
}

// rootOf finds the deepest remote root that p lies under: whether the pod
// has it, and whether there is one.
func (c *Cache) rootOf(p string) (present, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	deepest := ""
	for r, pr := range c.roots {
		if under(p, r) && len(r) > len(deepest) {
			deepest, present, ok = r, pr, true
		}
	}
	return present, ok
}

// isMissingAncestor: p is a directory above a present remote root, and does
// not exist on this machine.
func (c *Cache) isMissingAncestor(p string) bool {
	c.mu.Lock()
	found := false
	for r, present := range c.roots {
		found = found || (present && p != r && under(r, p))
	}
	c.mu.Unlock()
	if !found {
		return false
	}
	_, err := os.Lstat(p)
	return errors.Is(err, os.ErrNotExist)
}

func (c *Cache) isLocal(p string) bool {
	return underAny(p, c.local) || slices.Contains(c.localExact, p) || (c.lazy != nil && c.lazy.isLocalOnly(p))
}

// KeepLocal makes the program's own places local (OwnPlaces).
func (c *Cache) KeepLocal(o OwnPlaces) {
	c.local = append(c.local, o.Trees...)
	c.localExact = append(c.localExact, o.Ancestors...)
}

// outermost cleans the roots and drops those inside another: a tree fetch of
// the outer one brings them along.
func outermost(roots []string) []string {
	clean := make([]string, 0, len(roots))
	for _, r := range roots {
		clean = append(clean, filepath.Clean(r))
	}
	sort.Slice(clean, func(i, j int) bool { return len(clean[i]) < len(clean[j]) })
	var out []string
	for _, r := range clean {
		inside := false
		for _, o := range out {
			inside = inside || under(r, o)
		}
		if !inside {
			out = append(out, r)
		}
	}
	return out
}

// under reports whether p is dir or inside it.
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// Mapping is a local file or directory that stands for a pod's path.
type Mapping struct {
	Local string
	// Write: the program's changes under the path are made in Local
	// (mapwrite.go); else they fail with EROFS, as the pod's files do.
	Write bool
}

// Map serves the pod's path remote (and everything under it) from m.Local,
// a file or directory on this machine; it wins over every other rule.
func (c *Cache) Map(remote string, m Mapping) {
	if c.maps == nil {
		c.maps = map[string]Mapping{}
	}
	m.Local = filepath.Clean(m.Local)
	c.maps[filepath.Clean(remote)] = m
}

// mapped is where --fs-map serves p from, by the deepest mapping.
func (c *Cache) mapped(p string) (string, bool) {
	local, _, ok := c.mapping(p)
	return local, ok
}

// mapping is mapped, and whether that mapping takes writes.
func (c *Cache) mapping(p string) (local string, write, ok bool) {
	best := ""
	for r := range c.maps {
		if p != "" && under(p, r) && len(r) > len(best) {
			best = r
		}
	}
	if best == "" {
		return "", false, false
	}
	m := c.maps[best]
	return filepath.Join(m.Local, strings.TrimPrefix(p, best)), m.Write, true
}

// Close sends what the program wrote and not yet sent, then removes the copies.
func (c *Cache) Close() error {
	c.write.close()
	return c.sess.remove()
}
