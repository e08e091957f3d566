package tracer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// statRewriter shows one file with another owner, link count and inode to
// every stat of it: by path, by an open fd (fstat, AT_EMPTY_PATH) and statx.
type statRewriter struct{ file string }

func (statRewriter) Socket(*Call) Verdict { return Allow() }
func (s statRewriter) Path(c *Call) Verdict {
	if !c.Syscall.IsStat() || c.Path != s.file {
		return Allow()
	}
	return Allow().AtExit(func(e *Exit) {
		if st, ok := e.Stat(); ok {
			st.UID, st.Nlink, st.Ino = 4242, 9, 777
			e.SetStat(st)
		}
	})
}

// TestStatRewrittenAtExit: a handler's exit work rewrites what stat, fstat
// (Go's fstat, libc's newfstatat with AT_EMPTY_PATH) and statx report.
func TestStatRewrittenAtExit(t *testing.T) {
	needPtrace(t)
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := statRewriter{file: file}
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{progs.goStatic, "statfields", file}, "uid=4242 gid=0 size=1 nlink=9 ino=777"},
		{[]string{"python3", "-c", "import os; a = os.stat('" + file + "'); b = os.fstat(os.open('" + file + "', os.O_RDONLY)); print(a.st_uid, a.st_nlink, a.st_ino, b.st_uid, b.st_nlink, b.st_ino)"},
			"4242 9 777 4242 9 777"},
		{[]string{"stat", "-c", "%u %h %i", file}, "4242 9 777"},
	} {
		got := runTraced(t, h, "", tc.argv...)
		lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
		if got.status != (Status{}) || len(lines) == 0 {
			t.Fatalf("%v: %+v", tc.argv, got)
		}
		for _, l := range lines {
			if !strings.Contains(l, tc.want) {
				t.Errorf("%s: %q, want %q in each line", filepath.Base(tc.argv[0]), l, tc.want)
			}
		}
	}
}
