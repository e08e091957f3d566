package remotefiles

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// In --fs-mode all the pod's file system is the program's view: every path
// outside a local set is read from the pod the first time it is used, into
// the same private copy, and kept for the session. A directory is listed
// when a path under it is resolved (its children appear with their sizes
// and modes, so stat and listings are right), a file's bytes are fetched
// when it is opened, and symlinks are followed as the pod stores them.

// Looker fetches one path as the target container sees it (a shallow tree).
type Looker interface {
	Lookup(path string, fn func(e protocol.TreeEntry, r io.Reader) error) error
}

// DefaultLocal stays local in --fs-mode all, so the program, its
// interpreter and its libraries start from this machine: the kernel's
// pseudo file systems, scratch space, the system's programs and libraries,
// the dynamic linker's configuration.
var DefaultLocal = []string{
	"/proc", "/sys", "/dev", "/tmp", "/var/tmp", "/run/user",
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/nix", "/snap",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/ld.so.preload", "/etc/alternatives",
}

// lazyFS is the state of --fs-mode all.
type lazyFS struct {
	look  Looker
	local []string // DefaultLocal and the session's own (home, cwd, toolchains)

	// localOnly: names of merged directories that only this machine has.
	localOnly map[string]bool

	mu      sync.Mutex      // one fetch at a time: a path is fetched once
	listed  map[string]bool // directories whose children are in the copy
	stubs   map[string]bool // files in the copy without their bytes yet
	fetches int
}

// ReadAll makes every path outside local (plus DefaultLocal and the
// --fs-local paths) come from the pod, fetched through look on first use.
// The directories of merged (/ and the working directory's ancestors) list
// both the pod's entries and this machine's: a name the pod lacks is this
// machine's, so a runtime that resolves each component from /, a class
// path beside the working directory and `ls /` find what is here.
func (c *Cache) ReadAll(look Looker, local, merged []string) error {
	c.lazy = &lazyFS{look: look, local: append(append([]string{}, DefaultLocal...), local...),
		listed: map[string]bool{}, stubs: map[string]bool{}, localOnly: map[string]bool{}}
	return c.lazy.merge(c, merged)
}

// merge lists each of dirs from the pod and adds a stand-in for each name
// only this machine has, which then stays this machine's.
func (l *lazyFS) merge(c *Cache, dirs []string) error {
	for _, d := range dirs {
		if l.isLocalOnly(d) || underAny(d, l.local) {
			continue // this machine's already, with what it holds
		}
		if err := l.resolve(c, d, true); err != nil {
			return fmt.Errorf("list %s in the pod: %w", d, err)
		}
		copyDir := filepath.Join(c.dir, d)
		if fi, err := os.Stat(copyDir); err != nil || !fi.IsDir() {
			continue
		}
		here, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range here {
			name := filepath.Join(d, e.Name())
			stand := filepath.Join(copyDir, e.Name())
			if _, err := os.Lstat(stand); err == nil {
				continue // the pod has it: the pod's
			}
			if e.IsDir() {
				err = os.Mkdir(stand, 0o700)
			} else {
				err = os.WriteFile(stand, nil, 0o600)
			}
			if err != nil {
				return err
			}
			l.localOnly[name] = true
		}
		c.meta.restoreDir(copyDir)
	}
	return nil
}

// isLocalOnly: p is, or lies under, a name of a merged directory that only
// this machine has. Set up before the program starts, read-only after.
func (l *lazyFS) isLocalOnly(p string) bool {
	for q := p; ; q = filepath.Dir(q) {
		if l.localOnly[q] {
			return true
		}
		if q == "/" || q == "." {
			return false
		}
	}
}

// lazyRemote: in --fs-mode all, p comes from the pod.
func (c *Cache) lazyRemote(p string) bool {
	return c.lazy != nil && p != "" && !under(p, c.dir) && !underAny(p, c.lazy.local)
}

// lazyPath serves a path of the pod's view: at once when the copy already
// holds what the call needs, else after fetching it (the call waits).
func (c *Cache) lazyPath(call *tracer.Call) tracer.Verdict {
	p, wantBytes := call.Path, opens(call)
	if c.lazy.ready(c, p, wantBytes) {
		return tracer.ReplacePath(filepath.Join(c.dir, p))
	}
	go func() {
		if err := c.lazy.resolve(c, p, wantBytes); err != nil {
			call.Resume(tracer.Fail(session.RemoteErrno(err, unix.EIO)))
			return
		}
		call.Resume(c.copyVerdict(call, filepath.Join(c.dir, p)))
	}()
	return tracer.Hold()
}

// opens: the call reads what the path names (its bytes or its listing),
// not only its metadata.
func opens(call *tracer.Call) bool {
	switch call.Syscall {
	case tracer.SysOpen, tracer.SysOpenat, tracer.SysOpenat2, tracer.SysChdir:
		return true
	}
	return false
}

// ready: p's parent directories are listed (so p is in the copy, or known
// to be absent) and, if wanted, p's bytes or listing are there too. It does
// not follow symlinks; resolve does.
func (l *lazyFS) ready(c *Cache, p string, wantBytes bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for d := filepath.Dir(p); ; d = filepath.Dir(d) {
		if !l.listed[d] {
			return false
		}
		if d == "/" {
			break
		}
	}
	fi, err := os.Lstat(filepath.Join(c.dir, p))
	switch {
	case err != nil:
		return true // absent in the pod: the call gets ENOENT from the copy
	case fi.Mode()&os.ModeSymlink != 0:
		return false // its target may not be fetched yet
	case !wantBytes:
		return true
	case fi.IsDir():
		return l.listed[p]
	}
	return !l.stubs[p]
}

// maxLinks bounds the symlinks followed resolving one path, as the kernel does.
const maxLinks = 40

// resolve fetches what resolving p in the pod needs: each directory on the
// way listed, each symlink followed to its target, and (if wanted) the
// last component's bytes or listing.
func (l *lazyFS) resolve(c *Cache, p string, wantBytes bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	rest := strings.Split(strings.TrimPrefix(filepath.Clean(p), "/"), "/")
	cur := "/"
	for links := 0; len(rest) > 0 && rest[0] != ""; {
		if err := l.list(c, cur); err != nil {
			return err
		}
		next := filepath.Join(cur, rest[0])
		rest = rest[1:]
		copyPath := filepath.Join(c.dir, next)
		fi, err := os.Lstat(copyPath)
		if err != nil {
			return nil // not in the pod: the call gets ENOENT from the copy
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if links++; links > maxLinks {
				return &session.RemoteError{Msg: "too many symlinks", Errno: unix.ELOOP}
			}
			target, err := os.Readlink(copyPath)
			if err != nil {
				return err
			}
			// The copy points absolute links into itself (linkTarget).
			inPod := strings.TrimPrefix(target, c.dir)
			if !filepath.IsAbs(inPod) {
				inPod = filepath.Join(cur, inPod)
			}
			rest = append(strings.Split(strings.TrimPrefix(filepath.Clean(inPod), "/"), "/"), rest...)
			cur = "/"
			continue
		}
		cur = next
	}
	if !wantBytes {
		return nil
	}
	if l.stubs[cur] {
		return l.fetch(c, cur)
	}
	if fi, err := os.Stat(filepath.Join(c.dir, cur)); err == nil && fi.IsDir() {
		return l.list(c, cur)
	}
	return nil
}

// list puts dir's children in the copy, once. Precondition: l.mu held.
func (l *lazyFS) list(c *Cache, dir string) error {
	if l.listed[dir] {
		return nil
	}
	err := l.look.Lookup(dir, func(e protocol.TreeEntry, _ io.Reader) error {
		if e.Path == "" {
			return os.MkdirAll(filepath.Join(c.dir, dir), 0o700)
		}
		return l.materialize(c, filepath.Join(dir, filepath.Clean("/"+e.Path)), e, nil)
	})
	l.fetches++
	var re *session.RemoteError
	if errors.As(err, &re) && (re.Errno == unix.ENOTDIR || re.Errno == unix.ENOENT) {
		err = nil // the pod changed since the parent was listed: seen as absent
	}
	if err == nil {
		l.listed[dir] = true
	}
	return err
}

// fetch replaces a listed file's stub with its bytes. Precondition: l.mu held.
func (l *lazyFS) fetch(c *Cache, file string) error {
	err := l.look.Lookup(file, func(e protocol.TreeEntry, r io.Reader) error {
		return l.materialize(c, file, e, r)
	})
	l.fetches++
	if err == nil {
		delete(l.stubs, file)
	}
	return err
}

// materialize writes one entry at its pod path in the copy: a directory, a
// symlink (absolute targets pointed into the copy), a file with its bytes,
// or a listed file as a stub of its size.
func (l *lazyFS) materialize(c *Cache, p string, e protocol.TreeEntry, r io.Reader) error {
	dst := filepath.Join(c.dir, p)
	switch e.Type {
	case protocol.TreeDir:
		if err := os.MkdirAll(dst, 0o700); err != nil {
			return err
		}
		c.meta.apply(dst, e)
		return nil
	case protocol.TreeSymlink:
		target := e.Link
		if filepath.IsAbs(target) || climbsAboveRoot(filepath.Dir(p), target) {
			// Into the copy: in the pod "/.." is "/", in the copy it would
			// leave the copy for this machine's files.
			inPod := target
			if !filepath.IsAbs(target) {
				inPod = filepath.Join(filepath.Dir(p), target)
			}
			target = filepath.Join(c.dir, filepath.Clean(inPod))
		}
		if err := os.Symlink(target, dst); err != nil {
			if errors.Is(err, os.ErrExist) {
				return nil
			}
			return err
		}
		c.meta.apply(dst, e)
		return nil
	case protocol.TreeFile:
		if _, err := os.Lstat(dst); err == nil && r == nil {
			return nil // already in the copy (a root read at the start): keep it
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(e.Mode&0o777)|0o600)
		if err != nil {
			return err
		}
		if r == nil { // listed: the right size, the bytes later
			l.stubs[p] = true
			err = f.Truncate(e.StubSize)
		} else {
			var n int64
			n, err = io.Copy(f, r)
			c.mu.Lock()
			c.bytes += n
			c.mu.Unlock()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			c.meta.apply(dst, e)
		}
		return err
	}
	return nil
}

// climbsAboveRoot: resolving the relative target from dir passes above "/".
func climbsAboveRoot(dir, target string) bool {
	depth := len(strings.Split(strings.Trim(dir, "/"), "/"))
	if dir == "/" {
		depth = 0
	}
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "..":
			if depth--; depth < 0 {
				return true
			}
		case "", ".":
		default:
			depth++
		}
	}
	return false
}

// lazyFetches counts the round trips of --fs-mode all.
func (c *Cache) lazyFetches() int {
	if c.lazy == nil {
		return 0
	}
	c.lazy.mu.Lock()
	defer c.lazy.mu.Unlock()
	return c.lazy.fetches
}

// SessionLocal is what else stays local in --fs-mode all for a run of
// program: the user's home, the working directory, the program's own
// directory, and where toolchains keep their caches and installs.
func SessionLocal(program string) []string {
	var out []string
	add := func(p string) {
		if filepath.IsAbs(p) && filepath.Clean(p) != "/" {
			out = append(out, filepath.Clean(p))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(home)
	}
	if wd, err := os.Getwd(); err == nil {
		add(wd)
	}
	if path, err := exec.LookPath(program); err == nil {
		if abs, err := filepath.Abs(path); err == nil {
			add(filepath.Dir(abs))
		}
	}
	for _, v := range []string{"GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "TMPDIR", "XDG_CACHE_HOME", "JAVA_HOME", "NVM_DIR", "PYENV_ROOT", "VIRTUAL_ENV", "CARGO_HOME", "RUSTUP_HOME"} {
		for _, p := range filepath.SplitList(os.Getenv(v)) {
			add(p)
		}
	}
	return out
}
