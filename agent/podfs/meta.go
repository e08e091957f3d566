package podfs

import (
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// metaOf is st as the plugin shows it to the program's stat calls.
func metaOf(st *unix.Stat_t) *protocol.FileMeta {
	return &protocol.FileMeta{
		Mode: st.Mode, UID: st.Uid, GID: st.Gid, Nlink: uint64(st.Nlink), Size: st.Size,
		Ino: st.Ino, Dev: st.Dev, Rdev: st.Rdev, Blksize: int64(st.Blksize), Blocks: st.Blocks,
		Atime: st.Atim.Nano(), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
	}
}

// Stat answers lstat of each path in the target container (a symlink is
// described itself, as the session's copy holds it), nil for a path that
// is missing or cannot be read.
func (t Target) Stat(paths []string) protocol.Response {
	metas := make([]*protocol.FileMeta, len(paths))
	for i, p := range paths {
		fd, err := t.open(p, unix.O_PATH|unix.O_NOFOLLOW)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) == nil {
			metas[i] = metaOf(&st)
		}
		unix.Close(fd)
	}
	return protocol.Response{Metas: metas}
}
