package tracer

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// Verdict is a handler's decision.
type Verdict struct {
	hold   bool
	skip   bool // Return: the syscall does not run and returns ret
	ret    int64
	errno  unix.Errno
	addr   *netip.AddrPort
	path   *string
	atExit func(*Exit)
}

// Allow lets the syscall run unchanged.
func Allow() Verdict { return Verdict{} }

// Fail makes the syscall return -errno without running it.
func Fail(errno unix.Errno) Verdict { return Verdict{errno: errno} }

// Return makes the syscall return v without running it (the handler did
// its work elsewhere).
func Return(v int64) Verdict { return Verdict{skip: true, ret: v} }

// Hold keeps the calling thread stopped until Call.Resume.
func Hold() Verdict { return Verdict{hold: true} }

// Redirect runs a socket call (connect, bind, sendto, sendmsg) against addr
// instead of the original address. The program's registers and memory look
// unchanged once the syscall returns.
func Redirect(addr netip.AddrPort) Verdict { return Verdict{addr: &addr} }

// ReplacePath runs a path call on path instead of the original one.
func ReplacePath(path string) Verdict { return Verdict{path: &path} }

// AtExit also runs f when the syscall returns, to read or fix up its result.
func (v Verdict) AtExit(f func(*Exit)) Verdict {
	v.atExit = f
	return v
}

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
