package tracer

import "golang.org/x/sys/unix"

// VerdictPath is the replacement path of a ReplacePath verdict, else "".
// Handlers' tests use it to check decisions without running a program.
func VerdictPath(v Verdict) string {
	if v.path == nil {
		return ""
	}
	return *v.path
}

// VerdictErrno is the errno of a Fail verdict, else 0.
func VerdictErrno(v Verdict) unix.Errno { return v.errno }
