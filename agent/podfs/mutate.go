package podfs

import (
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Mutate changes the target's file system for a session in write
// mode, as this agent's user (the target's). Every path is resolved inside
// the target's root (RESOLVE_IN_ROOT): a name is changed in its parent
// directory's fd, a file is changed through an fd of it, so neither ".." nor
// a symlink leads outside the root.
func (t Target) Mutate(req protocol.Request) protocol.Response {
	if err := t.mutate(req); err != nil {
		return protocol.ErrorResponse(err)
	}
	return protocol.Response{}
}

func (t Target) mutate(req protocol.Request) error {
	if err := refused(req); err != nil {
		return err
	}
	in := t.open
	switch req.Op {
	case protocol.OpChmod, protocol.OpTruncate, protocol.OpWrite:
		return changeFile(in, req)
	case protocol.OpChown, protocol.OpTimes, protocol.OpSetxattr, protocol.OpRmxattr:
		return changeInode(in, req)
	case protocol.OpOpen:
		fd, err := t.create(req.Path, req.Flags&(unix.O_CREAT|unix.O_EXCL|unix.O_TRUNC|unix.O_WRONLY|unix.O_RDWR|unix.O_APPEND|unix.O_DIRECTORY), req.Perm&0o7777)
		if err == nil {
			unix.Close(fd)
		}
		return err
	}
	dfd, name, err := parentIn(in, req.Path)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	switch req.Op {
	case protocol.OpMkdir:
		return unix.Mkdirat(dfd, name, req.Perm)
	case protocol.OpUnlink:
		return unix.Unlinkat(dfd, name, 0)
	case protocol.OpRmdir:
		return unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR)
	case protocol.OpSymlink:
		return unix.Symlinkat(req.Link, dfd, name)
	case protocol.OpMknod:
		return unix.Mknodat(dfd, name, req.Perm, int(req.Dev))
	case protocol.OpRename, protocol.OpLink:
		dfd2, name2, err := parentIn(in, req.Path2)
		if err != nil {
			return err
		}
		defer unix.Close(dfd2)
		if req.Op == protocol.OpLink {
			return unix.Linkat(dfd, name, dfd2, name2, 0)
		}
		return unix.Renameat2(dfd, name, dfd2, name2, uint(req.Flags))
	}
	return unix.EINVAL
}

// refused is EPERM for the changes write mode never makes, whatever the
// target's privileges: device nodes (a node of the host's disk would hand
// the session the disk) and extended attributes in the security and trusted
// namespaces (security.capability would grant a file capabilities).
// Regular files and FIFOs by mknod, and other attributes, go ahead.
func refused(req protocol.Request) error {
	switch req.Op {
	case protocol.OpMknod:
		if t := req.Perm & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
			return fmt.Errorf("mknod %s: write mode makes no device nodes: %w", req.Path, unix.EPERM)
		}
	case protocol.OpSetxattr, protocol.OpRmxattr:
		for _, ns := range []string{"security.", "trusted."} {
			if strings.HasPrefix(req.Xattr, ns) {
				return fmt.Errorf("%s %s: write mode changes no %s* attributes: %w", req.Op, req.Path, ns, unix.EPERM)
			}
		}
	}
	return nil
}

// parentIn opens p's directory inside the root and names p in it.
func parentIn(in func(string, int) (int, error), p string) (int, string, error) {
	p = path.Clean(p)
	name := path.Base(p)
	if p == "/" || name == ".." || name == "." {
		return -1, "", unix.EINVAL
	}
	dfd, err := in(path.Dir(p), unix.O_PATH|unix.O_DIRECTORY)
	return dfd, name, err
}

// changeFile changes a file's mode, size or content through an fd of it.
func changeFile(in func(string, int) (int, error), req protocol.Request) error {
	if req.Op == protocol.OpChmod {
		fd, err := in(req.Path, unix.O_PATH)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		// chmod of the fd's magic link changes the inode resolved in the root.
		return unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), req.Perm)
	}
	flags := unix.O_WRONLY
	if req.Op == protocol.OpWrite {
		flags |= unix.O_TRUNC
	}
	fd, err := in(req.Path, flags)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), req.Path)
	defer f.Close()
	if req.Op == protocol.OpTruncate {
		return f.Truncate(req.Size)
	}
	_, err = f.Write(req.Data)
	return err
}

// changeInode changes a file's owner or times through an O_PATH fd of it
// (of the symlink itself with AT_SYMLINK_NOFOLLOW).
func changeInode(in func(string, int) (int, error), req protocol.Request) error {
	flags := unix.O_PATH
	if req.Flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := in(req.Path, flags)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// The fd's magic link names the inode resolved in the root.
	magic := "/proc/self/fd/" + strconv.Itoa(fd)
	switch req.Op {
	case protocol.OpSetxattr:
		return unix.Setxattr(magic, req.Xattr, req.Data, req.Flags&^unix.AT_SYMLINK_NOFOLLOW)
	case protocol.OpRmxattr:
		return unix.Removexattr(magic, req.Xattr)
	}
	if req.Op == protocol.OpChown {
		if len(req.Owner) != 2 {
			return unix.EINVAL
		}
		return unix.Fchownat(fd, "", req.Owner[0], req.Owner[1], unix.AT_EMPTY_PATH)
	}
	if len(req.Times) != 4 {
		return unix.EINVAL
	}
	ts := []unix.Timespec{{Sec: req.Times[0], Nsec: req.Times[1]}, {Sec: req.Times[2], Nsec: req.Times[3]}}
	return unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH)
}
