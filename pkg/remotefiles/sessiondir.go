package remotefiles

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The pod's files (Secret values, the service-account token) live in one
// private directory per session, beside a lock file the session holds while
// it lives. A plugin that was killed cannot remove its directory, so every
// new session removes the directories whose lock nobody holds.
const (
	sessionPrefix = "session-"
	lockSuffix    = ".lock"
	// staleAfter spares a directory that is being made (its lock file exists
	// a moment before it is locked).
	staleAfter = 2 * time.Second
)

// ErrUnsafeBase: the directory for session copies is not ours alone.
var ErrUnsafeBase = errors.New("not a private directory")

// BaseDir is where sessions keep their copies: $XDG_RUNTIME_DIR/kubectl-mirror
// (a per-user tmpfs that is emptied at logout), else a per-user directory in
// the temporary directory.
func BaseDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "kubectl-mirror")
	}
	return filepath.Join(os.TempDir(), "kubectl-mirror-"+strconv.Itoa(os.Getuid()))
}

// sessionDir is one session's private directory and the lock that says its
// plugin is alive.
type sessionDir struct {
	path string
	lock *os.File
}

// newSessionDir removes what dead sessions left under base, then makes a new
// session directory (0700) and holds its lock.
func newSessionDir(base string) (*sessionDir, error) {
	if err := privateDir(base); err != nil {
		return nil, err
	}
	removeStale(base)
	lock, err := os.CreateTemp(base, sessionPrefix+"*"+lockSuffix)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		os.Remove(lock.Name())
		return nil, err
	}
	path := strings.TrimSuffix(lock.Name(), lockSuffix)
	if err := os.Mkdir(path, 0o700); err != nil {
		lock.Close()
		os.Remove(lock.Name())
		return nil, err
	}
	return &sessionDir{path: path, lock: lock}, nil
}

// remove deletes the copies, then the lock.
func (d *sessionDir) remove() error {
	err := os.RemoveAll(d.path)
	os.Remove(d.lock.Name())
	d.lock.Close()
	return err
}

// privateDir makes dir (0700) if needed and checks that it is a directory of
// this user that nobody else can enter: in a shared /tmp another user could
// have made it first.
func privateDir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Getuid() || fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: %w (it must be a directory of yours with mode 0700): remove it, or set XDG_RUNTIME_DIR", dir, ErrUnsafeBase)
	}
	return nil
}

// removeStale deletes the session directories under base whose plugin is
// gone: their lock can be taken, or they have none.
func removeStale(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, sessionPrefix) {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < staleAfter {
			continue
		}
		dir := filepath.Join(base, strings.TrimSuffix(name, lockSuffix))
		if !strings.HasSuffix(name, lockSuffix) {
			if _, err := os.Stat(dir + lockSuffix); err != nil {
				os.RemoveAll(dir) // its lock is gone: a removal cut short
			}
			continue
		}
		removeIfDead(dir)
	}
}

func removeIfDead(dir string) {
	f, err := os.Open(dir + lockSuffix)
	if err != nil {
		return
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return // a live session holds it
	}
	os.RemoveAll(dir)
	os.Remove(dir + lockSuffix)
}
