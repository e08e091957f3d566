package podfs

import (
	"errors"
	"io"
	"os"
	"path"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Bounds of one tree: a session asks for config and secret mounts, not disks.
const (
	maxTreeEntries = 10000
	maxTreeBytes   = 256 << 20
)

var errTreeTooLarge = errors.New("tree too large")

// ServeTree sends req.Path and everything under it as the target sees it
// on st: a Response, then TreeEntry frames up to the one marked End, each
// file's bytes after its entry. The path is resolved inside /proc/PID/root
// (RESOLVE_IN_ROOT); below it the walk never follows a symlink and opens
// every name relative to its directory's fd, so nothing outside the
// target's root is ever read. It returns what it sent, for the log.
func (t Target) ServeTree(st io.Writer, req protocol.Request) (entries int, bytes int64) {
	flags := unix.O_PATH
	if req.Shallow {
		flags |= unix.O_NOFOLLOW // a symlink is sent as a symlink
	}
	fd, err := t.open(req.Path, flags)
	if err != nil {
		_ = protocol.Write(st, protocol.ErrorResponse(err))
		return 0, 0
	}
	defer unix.Close(fd)
	if err := protocol.Write(st, protocol.Response{}); err != nil {
		return 0, 0
	}
	w := &treeWriter{st: st}
	if req.Shallow {
		err = w.walkShallow(fd)
	} else {
		err = w.walk(fd, "", true)
	}
	end := protocol.TreeEntry{End: true}
	if err != nil {
		end.Error = err.Error()
	}
	_ = protocol.Write(st, end)
	return w.entries, w.bytes
}

type treeWriter struct {
	st      io.Writer
	entries int
	bytes   int64
}

// walk sends the object at fd (an O_PATH fd, already resolved) as rel.
func (w *treeWriter) walk(fd int, rel string, top bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	w.entries++
	if w.entries > maxTreeEntries {
		return errTreeTooLarge
	}
	mode := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := protocol.Write(w.st, protocol.TreeEntry{Path: rel, Type: protocol.TreeDir, Mode: mode, Mtime: st.Mtim.Nano(), Meta: metaOf(&st)}); err != nil {
			return err
		}
		return w.walkDir(fd, rel)
	case unix.S_IFREG:
		return w.sendFile(fd, rel, protocol.TreeEntry{Path: rel, Type: protocol.TreeFile, Mode: mode, Size: st.Size, Mtime: st.Mtim.Nano(), Meta: metaOf(&st)})
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return err
		}
		return protocol.Write(w.st, protocol.TreeEntry{Path: rel, Type: protocol.TreeSymlink, Link: string(buf[:n]), Mtime: st.Mtim.Nano(), Meta: metaOf(&st)})
	}
	return nil // sockets, devices, fifos: not content a program reads from a mount
}

func (w *treeWriter) walkDir(fd int, rel string) error {
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	dir := os.NewFile(uintptr(dfd), rel)
	defer dir.Close()
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		cfd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // gone meanwhile (an atomic-writer swap): skip it
		}
		err = w.walk(cfd, path.Join(rel, name), false)
		unix.Close(cfd)
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *treeWriter) sendFile(fd int, rel string, e protocol.TreeEntry) error {
	size := e.Size
	rfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		// An O_PATH fd of a file cannot be reopened with "."; go through /proc.
		rfd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err != nil {
			return err
		}
	}
	f := os.NewFile(uintptr(rfd), rel)
	defer f.Close()
	w.bytes += size
	if w.bytes > maxTreeBytes {
		return errTreeTooLarge
	}
	if err := protocol.Write(w.st, e); err != nil {
		return err
	}
	// Exactly size bytes follow, even if the file changed meanwhile.
	n, err := io.CopyN(w.st, f, size)
	if err != nil && n < size {
		_, err = w.st.Write(make([]byte, size-n))
	}
	return err
}
