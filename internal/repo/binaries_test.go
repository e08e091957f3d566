// Package repo checks the repository itself, with the unit tests: what is
// committed, rather than what it does.
package repo

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// elfMagic opens every ELF file: executables, objects, shared libraries.
var elfMagic = []byte{0x7f, 'E', 'L', 'F'}

// TestNoBinariesAreCommitted: no file git tracks is an ELF binary (a
// `go build` run at the top writes one there; .gitignore names the usual
// ones, and this catches the rest).
func TestNoBinariesAreCommitted(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		testenv.Skip(t, "no git to list the tracked files")
	}
	root := testbin.Repo()
	out, err := exec.Command("git", "-C", root, "-c", "safe.directory="+root, "ls-files", "-z").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && strings.Contains(string(ee.Stderr), "not a git repository") {
			testenv.Skip(t, "not a git checkout: "+root)
		}
		t.Fatalf("git ls-files: %v", err)
	}
	var binaries []string
	for _, name := range strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00") {
		if name != "" && isELF(t, filepath.Join(root, name)) {
			binaries = append(binaries, name)
		}
	}
	if len(binaries) > 0 {
		t.Fatalf("binaries are committed (git rm --cached them, and name them in .gitignore): %s", strings.Join(binaries, ", "))
	}
}

// isELF says whether the regular file at path starts with the ELF magic;
// a tracked file deleted in the work tree, or a symlink, is not one.
func isELF(t *testing.T, path string) bool {
	t.Helper()
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, len(elfMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		return false // shorter than the magic
	}
	return bytes.Equal(head, elfMagic)
}
