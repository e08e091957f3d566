package podfs

import (
	"os"
	"path"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// walkShallow sends one path for a session that reads the pod's files as it
// goes (--fs-mode all): a file with its bytes, a symlink as stored (not
// followed), or a directory with its children listed, each child's size
// given but no file's bytes.
func (w *treeWriter) walkShallow(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return w.walk(fd, "", true)
	}
	if err := protocol.Write(w.st, protocol.TreeEntry{Type: protocol.TreeDir, Mode: st.Mode & 0o7777, Mtime: st.Mtim.Nano(), Meta: metaOf(&st)}); err != nil {
		return err
	}
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(dfd), "")
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		if w.entries++; w.entries > maxTreeEntries {
			return errTreeTooLarge
		}
		e, ok := listEntry(dfd, name)
		if !ok {
			continue // gone meanwhile, or not a file, directory or symlink
		}
		if err := protocol.Write(w.st, e); err != nil {
			return err
		}
	}
	return nil
}

// listEntry describes one child of a listed directory without its bytes.
func listEntry(dfd int, name string) (protocol.TreeEntry, bool) {
	var st unix.Stat_t
	if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return protocol.TreeEntry{}, false
	}
	e := protocol.TreeEntry{Path: path.Clean(name), Mode: st.Mode & 0o7777, Mtime: st.Mtim.Nano(), Meta: metaOf(&st)}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		e.Type = protocol.TreeDir
	case unix.S_IFREG:
		e.Type, e.StubSize = protocol.TreeFile, st.Size
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(dfd, name, buf)
		if err != nil {
			return e, false
		}
		e.Type, e.Link = protocol.TreeSymlink, string(buf[:n])
	default:
		return e, false
	}
	return e, true
}
