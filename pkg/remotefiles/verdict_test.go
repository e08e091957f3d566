package remotefiles

import (
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// verdictOf reads a verdict back: the replacement path, or the errno.
func verdictOf(v tracer.Verdict) (string, unix.Errno) {
	return tracer.VerdictPath(v), tracer.VerdictErrno(v)
}
