package podfs

import (
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Statfs answers which file system p lies on in the target container
// (resolved inside its root like every path the agent reads).
func (t Target) Statfs(p string) protocol.Response {
	fd, err := t.open(p, unix.O_PATH)
	if err != nil {
		return protocol.ErrorResponse(err)
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return protocol.ErrorResponse(err)
	}
	return protocol.Response{Statfs: &protocol.Statfs{
		Type: int64(st.Type), Bsize: int64(st.Bsize), Blocks: st.Blocks, Bfree: st.Bfree, Bavail: st.Bavail,
		Files: st.Files, Ffree: st.Ffree, Namelen: int64(st.Namelen), Frsize: int64(st.Frsize), Flags: int64(st.Flags),
		Fsid: st.Fsid.Val,
	}}
}
