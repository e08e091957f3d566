package tracer

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestErrnoOr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want unix.Errno
	}{
		{unix.EACCES, unix.EACCES},
		{fmt.Errorf("open: %w", os.NewSyscallError("openat", unix.ENOENT)), unix.ENOENT},
		{errors.New("no errno"), unix.EIO},
		{nil, unix.EIO},
	} {
		if got := ErrnoOr(tc.err, unix.EIO); got != tc.want {
			t.Errorf("ErrnoOr(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
