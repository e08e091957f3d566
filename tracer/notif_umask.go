package tracer

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// A file an emulated open creates for the program gets the program's umask,
// not the tracer's: the open is made on an OS thread of its own whose
// file-system attributes (root, working directory, umask) were unshared
// from the rest of the tracer (CLONE_FS), with its umask set to the
// program's for the call. The tracer's own umask never changes.

// umaskCall is one call made under a umask.
type umaskCall struct {
	mask int
	f    func()
	done chan struct{}
}

// umaskThread is the channel to the thread, started on first use; nil when
// this system refuses to unshare (calls are then made under the tracer's
// umask).
var umaskThread = sync.OnceValue(func() chan umaskCall {
	calls, ready := make(chan umaskCall), make(chan bool)
	go func() {
		// Never unlocked: the thread ends with the goroutine, its
		// attributes no other goroutine's.
		runtime.LockOSThread()
		if unix.Unshare(unix.CLONE_FS) != nil {
			ready <- false
			return
		}
		ready <- true
		for c := range calls {
			unix.Umask(c.mask)
			c.f()
			close(c.done)
		}
	}()
	if !<-ready {
		return nil
	}
	return calls
})

// withUmask runs f with umask mask (-1: the tracer's own).
func withUmask(mask int, f func()) {
	ch := umaskThread()
	if mask < 0 || ch == nil {
		f()
		return
	}
	done := make(chan struct{})
	ch <- umaskCall{mask: mask, f: f, done: done}
	<-done
}

// umaskOf reads thread tid's umask (-1 when it cannot be read).
func umaskOf(tid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return -1
	}
	_, rest, ok := strings.Cut(string(b), "\nUmask:\t")
	if !ok {
		return -1
	}
	line, _, _ := strings.Cut(rest, "\n")
	m, err := strconv.ParseInt(line, 8, 32)
	if err != nil {
		return -1
	}
	return int(m)
}

// creates: an open with flags may create a file.
func creates(flags int) bool {
	return flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE
}
