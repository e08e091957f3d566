package remotefiles

import (
	"encoding/binary"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// writeback sends files the program wrote in the copy to the pod, whole,
// each time the program closes them (inotify IN_CLOSE_WRITE). flush sends
// what has been closed so far; every change of the pod's files flushes
// first, so a file written and then renamed into place arrives in order.
type writeback struct {
	pod Mutator
	fd  int // inotify
	// meta asks the pod for the metadata of what it changed (nil: an agent
	// that predates it); sentTo refreshes a file's after it was sent.
	meta   MetaAsker
	sentTo func(podPath string)

	mu      sync.Mutex // one flush at a time
	watches map[int32]watched
	sent    int
	failed  int
	copies  sync.Map // copy paths the program opened for writing
	stop    chan struct{}
}

func newWriteback(pod Mutator) (*writeback, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, err
	}
	w := &writeback{pod: pod, fd: fd, watches: map[int32]watched{}, stop: make(chan struct{})}
	go w.run()
	return w, nil
}

// watch sends copyPath to the pod's podPath whenever it is closed after writing.
func (w *writeback) watch(copyPath, podPath string) error {
	wd, err := unix.InotifyAddWatch(w.fd, copyPath, unix.IN_CLOSE_WRITE)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.watches[int32(wd)] = watched{pod: podPath, copy: copyPath}
	w.mu.Unlock()
	w.copies.Store(copyPath, true)
	return nil
}

// written: the program opened the copy at p for writing this session.
func (w *writeback) written(p string) bool {
	_, ok := w.copies.Load(p)
	return ok
}

// run flushes as closes happen, until close.
func (w *writeback) run() {
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		if n, _ := unix.Poll(fds, 200); n > 0 {
			w.flush()
		}
	}
}

// flush sends every file closed since the last flush.
func (w *writeback) flush() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	buf := make([]byte, 64*unix.SizeofInotifyEvent)
	closed := map[string]string{} // pod path -> copy path, once each
	for {
		n, err := unix.Read(w.fd, buf)
		if err != nil || n <= 0 {
			break
		}
		// struct inotify_event: wd, mask, cookie, len, then len bytes of name.
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(binary.NativeEndian.Uint32(buf[off:]))
			mask := binary.NativeEndian.Uint32(buf[off+4:])
			if f, ok := w.watches[wd]; ok && mask&unix.IN_CLOSE_WRITE != 0 {
				closed[f.pod] = f.copy
			}
			off += unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(buf[off+12:]))
		}
	}
	for podPath, copyPath := range closed {
		data, err := os.ReadFile(copyPath)
		if err == nil {
			err = w.pod.Mutate(protocol.Request{Op: protocol.OpWrite, Path: podPath, Data: data})
		}
		if err != nil {
			w.failed++
			continue
		}
		w.sent++
		if w.sentTo != nil {
			w.sentTo(podPath)
		}
	}
}

// watched is a file the program opened for writing.
type watched struct{ pod, copy string }

// close sends what is left and stops.
func (w *writeback) close() {
	if w == nil {
		return
	}
	close(w.stop)
	w.flush()
	w.mu.Lock()
	unix.Close(w.fd)
	w.fd = -1
	w.mu.Unlock()
}

// Flush sends the files the program has closed and the pod has not seen.
func (c *Cache) Flush() { c.write.flush() }

// Written counts the files sent to the pod after the program wrote them,
// and those the pod refused.
func (c *Cache) Written() (sent, failed int) {
	if c.write == nil {
		return 0, 0
	}
	c.write.mu.Lock()
	defer c.write.mu.Unlock()
	return c.write.sent, c.write.failed
}
