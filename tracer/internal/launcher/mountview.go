package launcher

import (
	"syscall"
)

// The mount view: the program runs in a mount namespace of its own in
// which each of the pod's paths is a bind mount of the session's copy, so
// its file calls reach the right files without a stop. The tracer sends
// the plan on GoFD before the go-ahead (plan.go in the tracer encodes it):
//
//	'h' hostname NUL domainname NUL   a UTS namespace with the pod's names
//	'f'                               failing is fatal (--fs-view mount)
//	's' stage NUL                     an empty directory for scratch mounts
//	'g' dir NUL n NUL rel NUL ... m NUL rel NUL ...
//	                                  dir gets n missing directories
//	                                  (mkdir -p) and m missing files
//	'b' src NUL dst NUL ro|rw NUL     src is bind-mounted at dst
//
// The launcher answers on ReportFD: "ok", or why the view was not made
// (then nothing of it is left: the program runs in this machine's
// namespaces and the tracer stops its file calls instead).

// ReportFD is the pipe the launcher answers the plan on: the second of
// exec.Cmd's ExtraFiles, given only with a plan.
const ReportFD = 4

// oldRoot is where pivot_root puts the former root for the moment it is
// detached.
const oldRoot = "/.kubectl-mirror-old-root"

// mountView makes the plan's view; "" when it is made.
func mountView(plan []byte) string {
	if len(plan) == 0 {
		return ""
	}
	cwd, err := syscall.Getwd()
	if err != nil {
		return "its working directory: " + err.Error()
	}
	mntNS, err1 := syscall.Open("/proc/self/ns/mnt", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	utsNS, err2 := syscall.Open("/proc/self/ns/uts", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err1 != nil || err2 != nil {
		return "its namespaces cannot be opened"
	}
	defer syscall.Close(mntNS)
	defer syscall.Close(utsNS)
	if err := syscall.Unshare(syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS); err != nil {
		return "a mount namespace: " + err.Error()
	}
	why := build(plan, cwd)
	if why == "" {
		return ""
	}
	// Back to this machine's namespaces: a half-made view must not be the
	// program's.
	if setns(mntNS, syscall.CLONE_NEWNS) != nil || setns(utsNS, syscall.CLONE_NEWUTS) != nil {
		fail("the mount view failed (" + why + ") and could not be undone")
	}
	_ = syscall.Chdir(cwd)
	return why
}

// build carries out the plan in the new namespaces; "" when done.
func build(plan []byte, cwd string) string {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return "private mounts: " + err.Error()
	}
	r := reader{b: plan}
	stage := ""
	for !r.done() {
		switch kind := r.kind(); kind {
		case 'h':
			host, domain := r.field(), r.field()
			if host != "" {
				if err := syscall.Sethostname([]byte(host)); err != nil {
					return "the pod's host name: " + err.Error()
				}
			}
			if domain != "" {
				if err := syscall.Setdomainname([]byte(domain)); err != nil {
					return "the pod's domain name: " + err.Error()
				}
			}
		case 'f':
		case 's':
			stage = r.field()
			// Unbindable: a graft of a directory above it copies none of it.
			if err := syscall.Mount("kubectl-mirror", stage, "tmpfs", 0, "mode=0700"); err != nil {
				return "a scratch mount at " + stage + ": " + err.Error()
			}
			if err := syscall.Mount("", stage, "", syscall.MS_UNBINDABLE, ""); err != nil {
				return "a scratch mount at " + stage + ": " + err.Error()
			}
		case 'g':
			dir := r.field()
			n := atoi(r.field())
			rels := make([]string, 0, n)
			for i := 0; i < n; i++ {
				rels = append(rels, r.field())
			}
			m := atoi(r.field())
			files := make([]string, 0, m)
			for i := 0; i < m; i++ {
				files = append(files, r.field())
			}
			if why := graft(stage, dir, rels, files); why != "" {
				return why
			}
		case 'b':
			src, dst, mode := r.field(), r.field(), r.field()
			if why := bind(src, dst, mode == "ro"); why != "" {
				return why
			}
		default:
			return "a plan it cannot read"
		}
	}
	if r.bad {
		return "a plan it cannot read"
	}
	if stage != "" {
		_ = syscall.Unmount(stage, syscall.MNT_DETACH)
	}
	if err := syscall.Chdir(cwd); err != nil {
		return "its working directory in the view: " + err.Error()
	}
	return ""
}

// bind mounts src at dst, read-only unless writable.
func bind(src, dst string, readOnly bool) string {
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		return "mount " + src + " at " + dst + ": " + err.Error()
	}
	if readOnly {
		flags := uintptr(syscall.MS_REMOUNT | syscall.MS_BIND | syscall.MS_RDONLY)
		if err := syscall.Mount("", dst, "", flags, ""); err != nil {
			return "make " + dst + " read-only: " + err.Error()
		}
	}
	return ""
}

// graft gives dir the missing paths rels without writing to dir: a tmpfs
// holding a bind mount of each of dir's entries (a copy of each symlink)
// and the new directories takes dir's place, read-only, so that nothing a
// program makes there vanishes with the view. "/" is replaced by
// pivot_root; any other directory by moving the tmpfs over it.
func graft(stage, dir string, rels, files []string) string {
	if stage == "" {
		return "a graft without a scratch directory"
	}
	g := stage + "/g"
	for i := 0; ; i++ {
		name := g + itoa(i)
		if err := syscall.Mkdir(name, 0o700); err == nil {
			g = name
			break
		} else if err != syscall.EEXIST {
			return "a graft directory: " + err.Error()
		}
	}
	if err := syscall.Mount("kubectl-mirror", g, "tmpfs", 0, "mode=0755"); err != nil {
		return "a graft of " + dir + ": " + err.Error()
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return "stat " + dir + ": " + err.Error()
	}
	_ = syscall.Chmod(g, st.Mode&0o7777)
	_ = syscall.Chown(g, int(st.Uid), int(st.Gid))
	names, err := readDir(dir)
	if err != nil {
		return "list " + dir + ": " + err.Error()
	}
	for _, name := range names {
		if why := graftEntry(join(dir, name), g+"/"+name); why != "" {
			return why
		}
	}
	for _, rel := range rels {
		if err := mkdirAll(g, rel); err != nil {
			return "make " + join(dir, rel) + " in the view: " + err.Error()
		}
	}
	for _, rel := range files {
		parent := parentOf(rel)
		if err := mkdirAll(g, parent); err != nil {
			return "make " + join(dir, parent) + " in the view: " + err.Error()
		}
		fd, err := syscall.Open(g+"/"+rel, syscall.O_CREAT|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			return "make " + join(dir, rel) + " in the view: " + err.Error()
		}
		_ = syscall.Close(fd)
	}
	if dir == "/" {
		return pivot(g)
	}
	if err := syscall.Mount("", g, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		return "a read-only graft of " + dir + ": " + err.Error()
	}
	if err := syscall.Mount(g, dir, "", syscall.MS_MOVE, ""); err != nil {
		return "move the graft over " + dir + ": " + err.Error()
	}
	return ""
}

// graftEntry puts src (an entry of the grafted directory) at dst in the
// graft: a symlink is copied, anything else is bind-mounted with what is
// mounted under it.
func graftEntry(src, dst string) string {
	var st syscall.Stat_t
	if err := syscall.Lstat(src, &st); err != nil {
		return "" // gone since it was listed
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFLNK:
		target, err := readlink(src)
		if err != nil {
			return "readlink " + src + ": " + err.Error()
		}
		if err := syscall.Symlink(target, dst); err != nil {
			return "copy the link " + src + ": " + err.Error()
		}
		_ = syscall.Lchown(dst, int(st.Uid), int(st.Gid))
		return ""
	case syscall.S_IFDIR:
		if err := syscall.Mkdir(dst, 0o755); err != nil {
			return "mkdir " + dst + ": " + err.Error()
		}
	default:
		fd, err := syscall.Open(dst, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_CLOEXEC, 0o644)
		if err != nil {
			return "a place for " + src + ": " + err.Error()
		}
		_ = syscall.Close(fd)
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return "mount " + src + " in the graft: " + err.Error()
	}
	return ""
}

// pivot makes the graft g the root, lets go of the former one, and makes
// the new one read-only.
func pivot(g string) string {
	if err := syscall.Mkdir(g+oldRoot, 0o700); err != nil {
		return "a place for the former root: " + err.Error()
	}
	if err := syscall.PivotRoot(g, g+oldRoot); err != nil {
		return "pivot_root to the graft: " + err.Error()
	}
	if err := syscall.Chdir("/"); err != nil {
		return "chdir /: " + err.Error()
	}
	if err := syscall.Unmount(oldRoot, syscall.MNT_DETACH); err != nil {
		return "let go of the former root: " + err.Error()
	}
	_ = syscall.Rmdir(oldRoot)
	if err := syscall.Mount("", "/", "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		return "a read-only graft of /: " + err.Error()
	}
	return ""
}

// mkdirAll makes rel (and its parents) under base, 0755.
func mkdirAll(base, rel string) error {
	p := base
	start := 0
	for i := 0; i <= len(rel); i++ {
		if i < len(rel) && rel[i] != '/' {
			continue
		}
		if i > start {
			p += "/" + rel[start:i]
			if err := syscall.Mkdir(p, 0o755); err != nil && err != syscall.EEXIST {
				return err
			}
		}
		start = i + 1
	}
	return nil
}

// readDir lists dir's names but "." and "..".
func readDir(dir string) ([]string, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = syscall.ParseDirent(buf[:n], -1, names)
	}
}

func readlink(p string) (string, error) {
	buf := make([]byte, 4096)
	n, err := syscall.Readlink(p, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func setns(fd, kind int) error {
	if _, _, errno := syscall.RawSyscall(sysSetns, uintptr(fd), uintptr(kind), 0); errno != 0 {
		return errno
	}
	return nil
}

// parentOf is a relative path's directory: "a/b" of "a/b/c", "" of "c".
func parentOf(rel string) string {
	for i := len(rel) - 1; i >= 0; i-- {
		if rel[i] == '/' {
			return rel[:i]
		}
	}
	return ""
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// reader walks the plan's records.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) done() bool { return len(r.b) == 0 || r.bad }

func (r *reader) kind() byte {
	k := r.b[0]
	r.b = r.b[1:]
	return k
}

func (r *reader) field() string {
	for i, c := range r.b {
		if c == 0 {
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	r.bad = true
	r.b = nil
	return ""
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
