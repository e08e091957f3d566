package protocol

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The errno a failure carries reaches the plugin by name and comes back as
// the same value.
func TestErrorResponseNamesTheErrno(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&os.PathError{Op: "open", Path: "/x", Err: unix.ENOENT}, "ENOENT"},
		{fmt.Errorf("dial: %w", unix.ECONNREFUSED), "ECONNREFUSED"},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), "ETIMEDOUT"},
		{fmt.Errorf("no errno"), ""},
	} {
		resp := ErrorResponse(c.err)
		if resp.Errno != c.want || resp.Error != c.err.Error() {
			t.Errorf("%v: got %+v, want errno %q", c.err, resp, c.want)
		}
		if c.want != "" && unix.ErrnoName(Errno(resp.Errno)) != c.want {
			t.Errorf("%s does not map back", resp.Errno)
		}
	}
}
