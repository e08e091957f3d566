package remotefiles

import (
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// mapWrite decides a change under a writable --fs-map (REMOTE=LOCAL:rw):
// made in the local directory, by the program itself where the call names
// one path (its credentials, umask and errors), here for rename and link,
// whose second path the tracer cannot rewrite. ok is false when the call
// touches no writable mapping.
func (c *Cache) mapWrite(call *tracer.Call) (v tracer.Verdict, ok bool) {
	l1, w1, in1 := c.mapping(call.Path)
	l2, w2, in2 := c.mapping(call.Path2)
	switch {
	case !(in1 && w1) && !(in2 && w2):
		return tracer.Verdict{}, false
	case call.Path2 == "":
		return tracer.ReplacePath(l1), true
	case !(in1 && w1 && in2 && w2):
		// One end elsewhere (the pod's files, this machine's, a read-only
		// map): another file system, as the kernel says (mv then copies).
		if (in1 && !w1) || (in2 && !w2) {
			return tracer.Fail(unix.EROFS), true
		}
		return tracer.Fail(unix.EXDEV), true
	}
	var err error
	switch call.Syscall {
	case tracer.SysRename, tracer.SysRenameat, tracer.SysRenameat2:
		err = unix.Renameat2(unix.AT_FDCWD, l1, unix.AT_FDCWD, l2, uint(call.Change.RenameFlags))
	case tracer.SysLink, tracer.SysLinkat:
		err = unix.Linkat(unix.AT_FDCWD, l1, unix.AT_FDCWD, l2, 0)
	default:
		return tracer.Fail(unix.EROFS), true // no other call changes two paths
	}
	if err != nil {
		return tracer.Fail(tracer.ErrnoOr(err, unix.EIO)), true
	}
	return tracer.Return(0), true
}
