package tracer

import (
	"bytes"
	"errors"

	"golang.org/x/sys/unix"
)

const pageSize = 4096

// maxPath bounds a path read from a tracee (PATH_MAX).
const maxPath = 4096

var errShortIO = errors.New("short tracee memory access")

// readMem fills buf from the tracee's memory at addr.
// taddr is an address in a traced process's memory: never to be
// dereferenced here, only passed to the memory calls below (or written to
// the process's registers).
type taddr uint64

func readMem(pid int, addr taddr, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	n, err := unix.ProcessVMReadv(pid, local, remote, 0)
	if err != nil {
		return err
	}
	if n != len(buf) {
		return errShortIO
	}
	return nil
}

// writeMem writes buf into the tracee's memory at addr. Page protections apply,
// which suits our own scratch pages and the program's output buffers.
func writeMem(pid int, addr taddr, buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(buf)}}
	n, err := unix.ProcessVMWritev(pid, local, remote, 0)
	if err != nil {
		return err
	}
	if n != len(buf) {
		return errShortIO
	}
	return nil
}

// readCString reads a NUL-terminated string of at most maxPath bytes into
// chunk's storage (one page, reused by the caller across calls). It never asks
// across a page boundary in one request, since a request that touches an
// unmapped page fails whole even when the string ended before it.
func readCString(pid int, addr taddr, chunk []byte) (string, error) {
	var out []byte
	for len(out) < maxPath {
		n := int(pageSize - addr%pageSize)
		if err := readMem(pid, addr, chunk[:n]); err != nil {
			return "", err
		}
		if i := bytes.IndexByte(chunk[:n], 0); i >= 0 {
			return string(append(out, chunk[:i]...)), nil
		}
		out = append(out, chunk[:n]...)
		addr += taddr(n)
	}
	return "", unix.ENAMETOOLONG
}
