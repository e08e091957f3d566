package session

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRemoteErrnoIsThePodsOnly(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want unix.Errno
	}{
		{&RemoteError{Msg: "refused", Errno: unix.ECONNREFUSED}, unix.ECONNREFUSED},
		{fmt.Errorf("dial: %w", &RemoteError{Msg: "no such file", Errno: unix.ENOENT}), unix.ENOENT},
		{&RemoteError{Msg: "no errno"}, unix.EIO},
		// A local failure is not the pod's, even with an errno of its own.
		{os.NewSyscallError("read", unix.ECONNRESET), unix.EIO},
	} {
		if got := RemoteErrno(tc.err, unix.EIO); got != tc.want {
			t.Errorf("RemoteErrno(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
