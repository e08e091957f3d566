package podfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Changes in write mode happen inside the target's root whatever the path
// or the pod's symlinks say: a file outside it is never written, made,
// removed or chmodded.
func TestMutationsStayInsideTheTargetsRoot(t *testing.T) {
	proc := t.TempDir()
	root := filepath.Join(proc, "9", "root")
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(proc, "outside")
	if err := os.WriteFile(outside, []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Symlink(outside, filepath.Join(root, "data", "escape"))
	_ = os.Symlink("../../../../outside", filepath.Join(root, "data", "dotdot"))
	target := NewTarget(proc, 9)
	for _, req := range []protocol.Request{
		{Op: protocol.OpWrite, Path: "/data/escape", Data: []byte("pwned")},
		{Op: protocol.OpWrite, Path: "/data/dotdot", Data: []byte("pwned")},
		{Op: protocol.OpOpen, Path: "/data/escape", Flags: os.O_CREATE | os.O_WRONLY | os.O_TRUNC, Perm: 0o644},
		{Op: protocol.OpChmod, Path: "/data/dotdot", Perm: 0o777},
		{Op: protocol.OpTruncate, Path: "/../../outside", Size: 0},
		{Op: protocol.OpUnlink, Path: "/../../outside"},
		{Op: protocol.OpRename, Path: "/../../outside", Path2: "/data/taken"},
		{Op: protocol.OpMkdir, Path: "/../../made-outside", Perm: 0o755},
	} {
		target.Mutate(req)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "host" {
		t.Fatalf("the file outside the root: %q %v", b, err)
	}
	if fi, _ := os.Stat(outside); fi.Mode().Perm() != 0o600 {
		t.Fatalf("the file outside the root was chmodded: %v", fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(proc, "made-outside")); !os.IsNotExist(err) {
		t.Fatal("a directory was made outside the root")
	}
	// Inside the root the same calls work.
	if resp := target.Mutate(protocol.Request{Op: protocol.OpMkdir, Path: "/data/new", Perm: 0o755}); resp.Error != "" {
		t.Fatal(resp.Error)
	}
	if resp := target.Mutate(protocol.Request{Op: protocol.OpOpen, Path: "/data/new/f", Flags: os.O_CREATE | os.O_WRONLY, Perm: 0o640}); resp.Error != "" {
		t.Fatal(resp.Error)
	}
	if resp := target.Mutate(protocol.Request{Op: protocol.OpWrite, Path: "/data/new/f", Data: []byte("in the pod")}); resp.Error != "" {
		t.Fatal(resp.Error)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "data", "new", "f")); string(b) != "in the pod" {
		t.Fatalf("inside the root: %q", b)
	}
	if resp := target.Mutate(protocol.Request{Op: protocol.OpMknod, Path: "/data/new/fifo", Perm: unix.S_IFIFO | 0o600}); resp.Error != "" {
		t.Fatal(resp.Error)
	}
	if fi, err := os.Lstat(filepath.Join(root, "data", "new", "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("mknod of a FIFO inside the root: %v %v", fi, err)
	}
	if resp := target.Mutate(protocol.Request{Op: protocol.OpMknod, Path: "/../../fifo-outside", Perm: unix.S_IFIFO | 0o600}); resp.Error == "" {
		if _, err := os.Lstat(filepath.Join(proc, "fifo-outside")); err == nil {
			t.Fatal("mknod made a node outside the root")
		}
	}
	if resp := target.Mutate(protocol.Request{Op: protocol.OpRmdir, Path: "/data/new"}); resp.Errno != "ENOTEMPTY" {
		t.Fatalf("rmdir of a full directory: %+v, want ENOTEMPTY", resp)
	}
}
