package podfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// maxFile bounds one remote file (it travels in one frame).
const maxFile = protocol.MaxFrame / 2

// errOutsideRoot: a path that is not absolute, or that names a file outside
// the target's root.
var errOutsideRoot = errors.New("path is outside the target's root")

// ReadFile reads path as the target container sees it: resolved inside
// /proc/PID/root, where ".." and absolute symlinks cannot leave that root.
func (t Target) ReadFile(path string) protocol.Response {
	if !filepath.IsAbs(path) || strings.ContainsRune(path, 0) {
		return protocol.Response{Error: errOutsideRoot.Error(), Errno: "EINVAL"}
	}
	fd, err := t.open(path, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK)
	if err != nil {
		return protocol.ErrorResponse(err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return protocol.ErrorResponse(err)
	}
	if !st.Mode().IsRegular() {
		return protocol.Response{Error: fmt.Sprintf("%s is not a regular file", path), Errno: "EISDIR"}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return protocol.ErrorResponse(err)
	}
	if len(data) > maxFile {
		return protocol.Response{Error: fmt.Sprintf("%s is larger than %d bytes", path, maxFile), Errno: "EFBIG"}
	}
	return protocol.Response{Data: data, Mode: uint32(st.Mode().Perm())}
}
