package podfs

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Write mode makes no device nodes and touches no security.* or trusted.*
// attribute, even for a root target that could: each is EPERM and leaves
// the file system as it was. Regular files and FIFOs by mknod, and user.*
// attributes, are still made.
func TestWriteModeRefusesDevicesAndPrivilegedXattrs(t *testing.T) {
	proc := t.TempDir()
	root := filepath.Join(proc, "9", "root")
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(root, "data", "bin")
	if err := os.WriteFile(file, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Set directly, so that a removal that went ahead would show.
	trustedSet := unix.Setxattr(file, "trusted.kept", []byte("1"), 0) == nil
	target := NewTarget(proc, 9)

	// A v2 file capability granting CAP_NET_RAW, well formed so that only
	// the refusal stops it.
	capability := make([]byte, 20)
	binary.LittleEndian.PutUint32(capability[0:], 0x02000000|1)
	binary.LittleEndian.PutUint32(capability[4:], 1<<unix.CAP_NET_RAW)
	for _, req := range []protocol.Request{
		{Op: protocol.OpMknod, Path: "/data/null", Perm: unix.S_IFCHR | 0o666, Dev: unix.Mkdev(1, 3)},
		{Op: protocol.OpMknod, Path: "/data/loop0", Perm: unix.S_IFBLK | 0o660, Dev: unix.Mkdev(7, 0)},
		{Op: protocol.OpSetxattr, Path: "/data/bin", Xattr: "security.capability", Data: capability},
		{Op: protocol.OpSetxattr, Path: "/data/bin", Xattr: "trusted.overlay.opaque", Data: []byte("y")},
		{Op: protocol.OpRmxattr, Path: "/data/bin", Xattr: "trusted.kept"},
		{Op: protocol.OpRmxattr, Path: "/data/bin", Xattr: "security.capability"},
	} {
		if resp := target.Mutate(req); resp.Errno != "EPERM" {
			t.Errorf("%s %s %s: %+v, want EPERM", req.Op, req.Path, req.Xattr, resp)
		}
	}
	for _, name := range []string{"null", "loop0"} {
		if _, err := os.Lstat(filepath.Join(root, "data", name)); !os.IsNotExist(err) {
			t.Errorf("device node %s was made: %v", name, err)
		}
	}
	buf := make([]byte, 64)
	if _, err := unix.Getxattr(file, "security.capability", buf); !errors.Is(err, unix.ENODATA) {
		t.Errorf("security.capability on the file: %v, want none", err)
	}
	if _, err := unix.Getxattr(file, "trusted.overlay.opaque", buf); trustedSet && !errors.Is(err, unix.ENODATA) {
		t.Errorf("trusted.overlay.opaque on the file: %v, want none", err)
	}
	if _, err := unix.Getxattr(file, "trusted.kept", buf); trustedSet && err != nil {
		t.Errorf("trusted.kept was removed: %v", err)
	}

	// What write mode does make.
	for _, req := range []protocol.Request{
		{Op: protocol.OpMknod, Path: "/data/plain", Perm: 0o644},
		{Op: protocol.OpMknod, Path: "/data/regular", Perm: unix.S_IFREG | 0o644},
		{Op: protocol.OpMknod, Path: "/data/fifo", Perm: unix.S_IFIFO | 0o600},
	} {
		if resp := target.Mutate(req); resp.Error != "" {
			t.Errorf("%s %s: %+v", req.Op, req.Path, resp)
		}
	}
	if fi, err := os.Lstat(filepath.Join(root, "data", "fifo")); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO: %v %v", fi, err)
	}
	if fi, err := os.Lstat(filepath.Join(root, "data", "regular")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the regular file: %v %v", fi, err)
	}
	resp := target.Mutate(protocol.Request{Op: protocol.OpSetxattr, Path: "/data/bin", Xattr: "user.note", Data: []byte("hi")})
	switch {
	case resp.Errno == "ENOTSUP" || resp.Errno == "EOPNOTSUPP":
		t.Log("this file system has no user.* attributes")
	case resp.Error != "":
		t.Errorf("setxattr user.note: %+v", resp)
	}
}
