package remotefiles

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

func TestMutationRequestsFromCalls(t *testing.T) {
	c, err := NewCache(filepath.Join(t.TempDir(), "kubectl-mirror"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inCopy := filepath.Join(c.dir, "/tmp/x") // reached through a cwd in the copy
	for _, tc := range []struct {
		call tracer.Call
		want protocol.Request
	}{
		{tracer.Call{Name: "mkdirat", Path: "/tmp/d", Args: [6]uint64{0, 0, 0o750}}, protocol.Request{Op: protocol.OpMkdir, Path: "/tmp/d", Perm: 0o750}},
		{tracer.Call{Name: "unlinkat", Path: inCopy, Args: [6]uint64{0, 0, unix.AT_REMOVEDIR}}, protocol.Request{Op: protocol.OpRmdir, Path: "/tmp/x"}},
		{tracer.Call{Name: "unlinkat", Path: "/tmp/f"}, protocol.Request{Op: protocol.OpUnlink, Path: "/tmp/f"}},
		{tracer.Call{Name: "renameat2", Path: "/tmp/a", Path2: "/tmp/b", Args: [6]uint64{0, 0, 0, 0, unix.RENAME_NOREPLACE}},
			protocol.Request{Op: protocol.OpRename, Path: "/tmp/a", Path2: "/tmp/b", Flags: unix.RENAME_NOREPLACE}},
		{tracer.Call{Name: "fchmodat", Path: "/tmp/f", Args: [6]uint64{0, 0, 0o600}}, protocol.Request{Op: protocol.OpChmod, Path: "/tmp/f", Perm: 0o600}},
		{tracer.Call{Name: "truncate", Path: "/tmp/f", Args: [6]uint64{0, 42}}, protocol.Request{Op: protocol.OpTruncate, Path: "/tmp/f", Size: 42}},
		{tracer.Call{Name: "fchownat", Path: "/tmp/f", Args: [6]uint64{0, 0, 1000, 1001, unix.AT_SYMLINK_NOFOLLOW}}, protocol.Request{Op: protocol.OpChown, Path: "/tmp/f", Flags: unix.AT_SYMLINK_NOFOLLOW}},
		{tracer.Call{Name: "utimensat", Path: "/tmp/f"}, protocol.Request{Op: protocol.OpTimes, Path: "/tmp/f"}},
	} {
		got, ok := c.mutation(&tc.call)
		if !ok || got.Op != tc.want.Op || got.Path != tc.want.Path || got.Path2 != tc.want.Path2 || got.Perm != tc.want.Perm || got.Flags != tc.want.Flags || got.Size != tc.want.Size {
			t.Errorf("%s: got %+v, want %+v", tc.call.Name, got, tc.want)
		}
	}
	if got, ok := c.mutation(&tracer.Call{Name: "mknodat", Path: "/tmp/fifo", Args: [6]uint64{0, 0, unix.S_IFIFO | 0o600, 0}}); !ok || got.Op != protocol.OpMknod || got.Perm != unix.S_IFIFO|0o600 {
		t.Errorf("mknodat: %+v", got)
	}
}
