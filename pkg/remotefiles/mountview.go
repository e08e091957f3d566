package remotefiles

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// MountView is the session's files as bind mounts in the program's own
// mount namespace (tracer.MountView), so that no file call of it stops:
// each remote root the pod has is its copy, read-only; each --fs-map is
// its local path, writable with :rw. It returns why not when the stop
// path must serve the files instead: a mode that reads or writes the pod
// as the program goes (--fs-mode all, --fs-write), a local exception
// inside a remote path (only a stop can tell them apart), a path the pod
// lacks but this machine has (a mount cannot hide it), or a mount point
// that cannot be made. The copies get the pod's owners and exact modes,
// which a stat then shows without a rewrite (the plugin runs as root).
func (c *Cache) MountView(hostname, domainname string) (*tracer.MountView, error) {
	switch {
	case c.lazy != nil:
		return nil, errors.New("--fs-mode all reads the pod's files as the program uses them")
	case c.write != nil:
		return nil, errors.New("--fs-write carries changes to the pod")
	}
	binds, err := c.viewBinds()
	if err != nil {
		return nil, err
	}
	grafts, err := viewGrafts(binds)
	if err != nil {
		return nil, err
	}
	if err := busyGrafts(grafts, c.local); err != nil {
		return nil, err
	}
	stage := filepath.Join(c.sess.path, "stage")
	if err := os.Mkdir(stage, 0o700); err != nil {
		return nil, err
	}
	c.meta.exact(c.dir)
	return &tracer.MountView{Hostname: hostname, Domainname: domainname, Stage: stage, Grafts: grafts, Binds: binds}, nil
}

// viewBinds are the mounts the view needs, outermost first.
func (c *Cache) viewBinds() ([]tracer.Bind, error) {
	c.mu.Lock()
	var binds []tracer.Bind
	for root, present := range c.roots {
		if !present {
			if _, err := os.Lstat(root); err == nil {
				c.mu.Unlock()
				return nil, fmt.Errorf("the pod has no %s, which this machine has", root)
			}
			continue
		}
		binds = append(binds, tracer.Bind{Src: filepath.Join(c.dir, root), Dst: root})
	}
	c.mu.Unlock()
	// A local exception holding a pod path keeps it local (no mount); one
	// inside a pod path only a stop can tell apart.
	kept := binds[:0]
	for _, b := range binds {
		local := false
		for _, l := range c.local {
			local = local || under(b.Dst, l)
			if under(l, b.Dst) && l != b.Dst {
				return nil, fmt.Errorf("the local path %s lies in the pod's %s", l, b.Dst)
			}
		}
		for _, l := range c.localExact {
			if l == b.Dst {
				return nil, fmt.Errorf("the local directory %s is a pod path", l)
			}
		}
		if !local {
			kept = append(kept, b)
		}
	}
	binds = kept
	for remote, m := range c.maps {
		if _, err := os.Stat(m.Local); err != nil {
			return nil, fmt.Errorf("--fs-map %s: %w", remote, err)
		}
		binds = append(binds, tracer.Bind{Src: m.Local, Dst: remote, Write: m.Write})
	}
	slices.SortFunc(binds, func(a, b tracer.Bind) int {
		if d := strings.Count(a.Dst, "/") - strings.Count(b.Dst, "/"); d != 0 {
			return d
		}
		return strings.Compare(a.Dst, b.Dst)
	})
	for i, b := range binds {
		srcInfo, err := os.Stat(b.Src)
		if err != nil {
			return nil, err
		}
		// A bind inside another is made on that one's source: its place
		// must be there already, of the same kind.
		for _, outer := range binds[:i] {
			if under(b.Dst, outer.Dst) && b.Dst != outer.Dst {
				in, err := os.Stat(filepath.Join(outer.Src, strings.TrimPrefix(b.Dst, outer.Dst)))
				if err != nil || in.IsDir() != srcInfo.IsDir() {
					return nil, fmt.Errorf("%s has no place in %s", b.Dst, outer.Dst)
				}
			}
		}
	}
	return binds, nil
}

// viewGrafts finds, for each bind whose place this machine lacks, the
// deepest directory that exists (its real path) and what to make in it:
// the grafts, the shallowest first and "/" last, since a graft of a
// directory above another copies the other's mounts along.
func viewGrafts(binds []tracer.Bind) ([]tracer.Graft, error) {
	byDir := map[string]*tracer.Graft{}
	var order []string
	for _, b := range binds {
		dst, err := os.Stat(b.Dst)
		src, serr := os.Stat(b.Src)
		if serr != nil {
			return nil, serr
		}
		if err == nil {
			if dst.IsDir() != src.IsDir() {
				return nil, fmt.Errorf("%s is a %s here and %s is a %s", b.Dst, kind(dst), b.Src, kind(src))
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		dir, rel, err := deepestExisting(b.Dst)
		if err != nil {
			return nil, err
		}
		g := byDir[dir]
		if g == nil {
			g = &tracer.Graft{Dir: dir}
			byDir[dir] = g
			order = append(order, dir)
		}
		if src.IsDir() {
			g.Make = append(g.Make, rel)
		} else {
			g.Files = append(g.Files, rel)
		}
	}
	slices.SortFunc(order, func(a, b string) int {
		switch {
		case a == "/":
			return 1
		case b == "/":
			return -1
		}
		return strings.Count(a, "/") - strings.Count(b, "/")
	})
	grafts := make([]tracer.Graft, 0, len(order))
	for _, d := range order {
		grafts = append(grafts, *byDir[d])
	}
	return grafts, nil
}

// busyGrafts refuses a graft of a directory programs make files in all the
// time (the temporary directories, home, the working directory and the
// program's own): new entries right in a grafted directory fail with EROFS.
func busyGrafts(grafts []tracer.Graft, own []string) error {
	busy := append([]string{"/tmp", "/var/tmp", os.TempDir(), os.Getenv("HOME"), os.Getenv("XDG_RUNTIME_DIR")}, own...)
	if wd, err := os.Getwd(); err == nil {
		busy = append(busy, wd)
	}
	for _, g := range grafts {
		for _, d := range busy {
			if d == "" {
				continue
			}
			if real, err := filepath.EvalSymlinks(d); err == nil && real == g.Dir {
				return fmt.Errorf("a pod path in %s would leave %s no room for new files", d, d)
			}
		}
	}
	return nil
}

// deepestExisting walks up from p to the first directory this machine has:
// its real path, and p's rest relative to it. A link that leads nowhere on
// the way is refused: a mount cannot be made through it.
func deepestExisting(p string) (dir, rel string, err error) {
	rest := ""
	for cur := p; ; cur = filepath.Dir(cur) {
		if info, err := os.Stat(cur); err == nil {
			if !info.IsDir() {
				return "", "", fmt.Errorf("%s is a file here, where the pod has a directory", cur)
			}
			real, err := filepath.EvalSymlinks(cur)
			if err != nil {
				return "", "", err
			}
			return real, rest, nil
		}
		if _, err := os.Lstat(cur); err == nil {
			return "", "", fmt.Errorf("%s is a link to nothing here", cur)
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		if cur == "/" {
			return "", "", errors.New("/ is missing")
		}
	}
}

func kind(i fs.FileInfo) string {
	if i.IsDir() {
		return "directory"
	}
	return "file"
}

// exact gives every copy under dir the pod's owner and mode as the pod
// has them (apply keeps the owner's access the copy needs, and a file's
// setuid and setgid bits are never copied), keeping the pod's times.
func (m *podMeta) exact(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		m.mu.Lock()
		pm, ok := m.byIno[st.Ino]
		m.mu.Unlock()
		if !ok {
			return nil
		}
		_ = unix.Lchown(p, int(pm.UID), int(pm.GID))
		mode := pm.Mode & 0o7777
		if pm.Mode&unix.S_IFMT != unix.S_IFDIR {
			mode &= 0o1777
		}
		if pm.Mode&unix.S_IFMT != unix.S_IFLNK {
			_ = unix.Chmod(p, mode)
		}
		return nil
	})
}
