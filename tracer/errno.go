package tracer

import (
	"errors"

	"golang.org/x/sys/unix"
)

// ErrnoOr is the errno err carries (a unix.Errno in its chain), or def when
// it carries none: what a call fails with when the work a verdict stands
// for failed.
func ErrnoOr(err error, def unix.Errno) unix.Errno {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return def
}
