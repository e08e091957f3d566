package protocol

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

var errnoByName = sync.OnceValue(func() map[string]unix.Errno {
	m := map[string]unix.Errno{}
	for e := unix.Errno(1); e < 4096; e++ {
		if name := unix.ErrnoName(e); name != "" {
			m[name] = e
		}
	}
	return m
})

// Errno maps an errno name from a Response ("ECONNREFUSED") to its value on
// this machine; 0 for an empty or unknown name. Names, not numbers, travel:
// they mean the same on every architecture.
func Errno(name string) unix.Errno { return errnoByName()[name] }

// ErrorResponse describes a failed operation with the errno a program in the
// pod would have seen: the one err wraps, ETIMEDOUT for a deadline, else none.
func ErrorResponse(err error) Response {
	resp := Response{Error: err.Error()}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		resp.Errno = unix.ErrnoName(errno)
	case errors.Is(err, os.ErrDeadlineExceeded):
		resp.Errno = "ETIMEDOUT"
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			resp.Errno = "ETIMEDOUT"
		}
	}
	return resp
}
