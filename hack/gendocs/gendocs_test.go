package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The repository's root, from this package's directory.
const repoRoot = "../.."

// TestCommandDocsUpToDate regenerates docs/commands into a temporary
// directory and fails when what is checked in differs.
func TestCommandDocsUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := genCommands(dir); err != nil {
		t.Fatal(err)
	}
	want, got := readPages(t, dir), readPages(t, filepath.Join(repoRoot, commandsDir))
	for name, text := range want {
		switch old, ok := got[name]; {
		case !ok:
			t.Errorf("%s/%s is missing: run make docs", commandsDir, name)
		case old != text:
			t.Errorf("%s/%s differs from what the commands say (%s): run make docs", commandsDir, name, firstDiff(old, text))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s/%s is no command's page: run make docs", commandsDir, name)
		}
	}
}

// TestReadmeFlagTableUpToDate: the README's table of run's flags is the one
// the command makes.
func TestReadmeFlagTableUpToDate(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(repoRoot, readme))
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := withFlagTable(text)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(text, fresh) {
		t.Errorf("%s: the run flag table differs from run's flags (%s): run make docs", readme, firstDiff(string(text), string(fresh)))
	}
}

// TestGeneratedTextIsTheSameForEveryone: nothing of the machine or the
// user leaks into the pages (a home directory in a default, a date).
func TestGeneratedTextIsTheSameForEveryone(t *testing.T) {
	var runs [2]map[string]string
	for i := range runs {
		t.Setenv("HOME", t.TempDir())
		dir := t.TempDir()
		if err := genCommands(dir); err != nil {
			t.Fatal(err)
		}
		runs[i] = readPages(t, dir)
	}
	for name, text := range runs[0] {
		if runs[1][name] != text {
			t.Errorf("%s depends on HOME (%s)", name, firstDiff(text, runs[1][name]))
		}
		if strings.Contains(text, "Auto generated") {
			t.Errorf("%s carries cobra's dated auto-gen line", name)
		}
	}
}

func readPages(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, e := range entries {
		text, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		pages[e.Name()] = string(text)
	}
	return pages
}

// firstDiff names the first line where checked-in text old and generated
// text fresh part.
func firstDiff(old, fresh string) string {
	a, b := strings.Split(old, "\n"), strings.Split(fresh, "\n")
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ": have " + strconv.Quote(x) + ", want " + strconv.Quote(y)
		}
	}
	return "no line differs"
}
