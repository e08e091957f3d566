// Package podfs is the agent's view of the target container's files: read
// whole (a file, a tree, a directory listing), changed in write mode, and
// the target process's environment and the pod's domain name. Every path is
// resolved inside the target process's root, /proc/PID/root, where neither
// ".." nor a symlink leads out.
package podfs

import (
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// Target is the target container's process as this agent reaches it: its
// number in the agent's /proc, which names its root and its environment.
type Target struct {
	procRoot string
	pid      int
}

// NewTarget is process pid of the /proc mounted at procRoot ("/proc"; tests
// point it elsewhere).
func NewTarget(procRoot string, pid int) Target { return Target{procRoot: procRoot, pid: pid} }

// open opens p inside the target's root.
func (t Target) open(p string, flags int) (int, error) {
	return t.create(p, flags, 0)
}

// create is open with a mode for O_CREAT.
func (t Target) create(p string, flags int, perm uint32) (int, error) {
	if flags&unix.O_CREAT == 0 {
		perm = 0 // openat2 refuses a mode it would not use
	}
	if !filepath.IsAbs(p) {
		return -1, &os.PathError{Op: "open", Path: p, Err: unix.EINVAL}
	}
	root, err := os.Open(filepath.Join(t.procRoot, strconv.Itoa(t.pid), "root"))
	if err != nil {
		return -1, err
	}
	defer root.Close()
	fd, err := unix.Openat2(int(root.Fd()), p, &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(perm),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return fd, nil
}
