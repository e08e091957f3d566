package remotefiles

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
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
		{tracer.Call{Syscall: tracer.SysMkdirat, Path: "/tmp/d", Change: tracer.Change{Mode: 0o750}}, protocol.Request{Op: protocol.OpMkdir, Path: "/tmp/d", Perm: 0o750}},
		{tracer.Call{Syscall: tracer.SysUnlinkat, Path: inCopy, Change: tracer.Change{RemoveDir: true}}, protocol.Request{Op: protocol.OpRmdir, Path: "/tmp/x"}},
		{tracer.Call{Syscall: tracer.SysUnlinkat, Path: "/tmp/f"}, protocol.Request{Op: protocol.OpUnlink, Path: "/tmp/f"}},
		{tracer.Call{Syscall: tracer.SysRmdir, Path: "/tmp/d"}, protocol.Request{Op: protocol.OpRmdir, Path: "/tmp/d"}},
		{tracer.Call{Syscall: tracer.SysRenameat2, Path: "/tmp/a", Path2: "/tmp/b", Change: tracer.Change{RenameFlags: unix.RENAME_NOREPLACE}},
			protocol.Request{Op: protocol.OpRename, Path: "/tmp/a", Path2: "/tmp/b", Flags: unix.RENAME_NOREPLACE}},
		{tracer.Call{Syscall: tracer.SysFchmodat, Path: "/tmp/f", Change: tracer.Change{Mode: 0o600}}, protocol.Request{Op: protocol.OpChmod, Path: "/tmp/f", Perm: 0o600}},
		{tracer.Call{Syscall: tracer.SysTruncate, Path: "/tmp/f", Change: tracer.Change{Size: 42}}, protocol.Request{Op: protocol.OpTruncate, Path: "/tmp/f", Size: 42}},
		{tracer.Call{Syscall: tracer.SysFchownat, Path: "/tmp/f", Change: tracer.Change{UID: 1000, GID: 1001, NoFollow: true}},
			protocol.Request{Op: protocol.OpChown, Path: "/tmp/f", Owner: []int{1000, 1001}, Flags: unix.AT_SYMLINK_NOFOLLOW}},
		{tracer.Call{Syscall: tracer.SysUtimensat, Path: "/tmp/f", Change: tracer.Change{Times: [2]unix.Timespec{{Sec: 1, Nsec: 2}, {Nsec: unix.UTIME_OMIT}}}},
			protocol.Request{Op: protocol.OpTimes, Path: "/tmp/f", Times: []int64{1, 2, 0, unix.UTIME_OMIT}}},
		{tracer.Call{Syscall: tracer.SysMknodat, Path: "/tmp/fifo", Change: tracer.Change{Mode: unix.S_IFIFO | 0o600}},
			protocol.Request{Op: protocol.OpMknod, Path: "/tmp/fifo", Perm: unix.S_IFIFO | 0o600}},
		{tracer.Call{Syscall: tracer.SysSymlink, Path: "/tmp/l", Change: tracer.Change{LinkTarget: "../t"}},
			protocol.Request{Op: protocol.OpSymlink, Path: "/tmp/l", Link: "../t"}},
		{tracer.Call{Syscall: tracer.SysLsetxattr, Path: "/tmp/f", Change: tracer.Change{Xattr: "user.a", XattrValue: []byte("v"), XattrFlags: unix.XATTR_CREATE, NoFollow: true}},
			protocol.Request{Op: protocol.OpSetxattr, Path: "/tmp/f", Xattr: "user.a", Data: []byte("v"), Flags: unix.AT_SYMLINK_NOFOLLOW | unix.XATTR_CREATE}},
	} {
		got, ok := c.mutation(&tc.call)
		if diff := cmp.Diff(tc.want, got); !ok || diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.call.Syscall, diff)
		}
	}
	if _, ok := c.mutation(&tracer.Call{Syscall: tracer.SysSymlink, Path: "/tmp/l", Change: tracer.Change{Unread: true}}); ok {
		t.Error("a symlink whose target could not be read makes a request")
	}
}
