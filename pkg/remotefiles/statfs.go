package remotefiles

import (
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// StatfsAsker asks the pod which file system a path lies on.
type StatfsAsker interface {
	Statfs(path string) (*protocol.Statfs, error)
}

// Statfs answers statfs and fstatfs about the pod's files (by a remote path,
// or an fd opened on the session's copy) with the pod's file system, not
// this machine's. Answers are kept per path for the session.
func (c *Cache) Statfs(call *tracer.Call, pod StatfsAsker) tracer.Verdict {
	p := call.Path
	switch {
	case p != "" && under(p, c.dir):
		p = filepath.Join("/", strings.TrimPrefix(p, c.dir))
	case call.Syscall == tracer.SysStatfs && c.isRemote(p):
	case call.Syscall == tracer.SysStatfs:
		return c.Path(call)
	default:
		return tracer.Allow() // an fd of a local file
	}
	c.mu.Lock()
	st, known := c.statfs[p]
	c.mu.Unlock()
	if known {
		return statfsVerdict(call, st, nil)
	}
	go func() {
		st, err := pod.Statfs(p)
		if err == nil && st != nil {
			c.mu.Lock()
			c.statfs[p] = st
			c.mu.Unlock()
		}
		call.Resume(statfsVerdict(call, st, err))
	}()
	return tracer.Hold()
}

// statfsVerdict fails the call as the pod did, or lets it succeed (on "/"
// for statfs: the answer is the pod's either way) and writes the pod's answer.
func statfsVerdict(call *tracer.Call, st *protocol.Statfs, err error) tracer.Verdict {
	switch {
	case err != nil:
		return tracer.Fail(session.RemoteErrno(err, unix.EIO))
	case st == nil:
		return tracer.Fail(unix.EIO)
	}
	v := tracer.Allow()
	if call.Syscall == tracer.SysStatfs {
		v = tracer.ReplacePath("/")
	}
	return v.AtExit(func(e *tracer.Exit) {
		e.SetStatfs(unix.Statfs_t{Type: st.Type, Bsize: st.Bsize, Blocks: st.Blocks, Bfree: st.Bfree, Bavail: st.Bavail,
			Files: st.Files, Ffree: st.Ffree, Namelen: st.Namelen, Frsize: st.Frsize, Flags: st.Flags, Fsid: unix.Fsid{Val: st.Fsid}})
	})
}
