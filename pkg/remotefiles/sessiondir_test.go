package remotefiles

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

func TestSessionDirIsPrivateAndRemoved(t *testing.T) {
	base := filepath.Join(t.TempDir(), "kubectl-mirror")
	d, err := newSessionDir(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{base, d.path} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v %v", p, fi.Mode(), err)
		}
	}
	if err := os.WriteFile(filepath.Join(d.path, "token"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.remove(); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// A session whose plugin was killed (its lock is free) is removed by the
// next one; a live session's directory is not.
func TestDeadSessionsAreRemovedLiveOnesKept(t *testing.T) {
	base := filepath.Join(t.TempDir(), "kubectl-mirror")
	live, err := newSessionDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer live.remove()
	// A dead session: its lock file and directory, held by nobody.
	dead := filepath.Join(base, sessionPrefix+"dead")
	if err := os.MkdirAll(filepath.Join(dead, "var", "run", "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dead+lockSuffix, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// A live session of another process holds its lock (flock(1) stands in).
	other := filepath.Join(base, sessionPrefix+"other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("flock", other+lockSuffix, "sleep", "30")
	if err := holder.Start(); err != nil {
		testenv.Skip(t, "flock(1): "+err.Error())
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	waitForLock(t, other+lockSuffix)
	old := time.Now().Add(-time.Minute)
	for _, p := range []string{dead, dead + lockSuffix, other, other + lockSuffix, live.path, live.lock.Name()} {
		_ = os.Chtimes(p, old, old)
	}
	next, err := newSessionDir(base)
	if err != nil {
		t.Fatal(err)
	}
	defer next.remove()
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dead session's files still there: %v", err)
	}
	for _, p := range []string{other, live.path} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("a live session's directory was removed: %v", err)
		}
	}
}

func TestRefusesABaseSomeoneElseCanEnter(t *testing.T) {
	base := filepath.Join(t.TempDir(), "kubectl-mirror")
	if err := os.Mkdir(base, 0o777); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(base, 0o777)
	if _, err := newSessionDir(base); !errors.Is(err, ErrUnsafeBase) {
		t.Fatalf("got %v", err)
	}
}

// waitForLock waits until another process holds the lock on p (flock(1)
// creates the file, then locks it).
func waitForLock(t *testing.T, p string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() bool {
		f, err := os.Open(p)
		if err != nil {
			return false
		}
		defer f.Close() // and with it a lock this test took
		return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == unix.EWOULDBLOCK
	}, func() string { return "nobody locked " + p })
}
