package tracer

import (
	"sync"
	"testing"
)

// closeRecorder notes the fds of the close and shutdown calls it is asked
// about, and lets every call through.
type closeRecorder struct {
	mu     sync.Mutex
	closes []int
	shuts  []int
}

func (h *closeRecorder) Socket(c *Call) Verdict {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch c.Syscall {
	case SysClose:
		h.closes = append(h.closes, c.FD)
	case SysShutdown:
		h.shuts = append(h.shuts, c.FD)
	}
	return Allow()
}

func (h *closeRecorder) Path(*Call) Verdict { return Allow() }

// TestOnlyAListenersCloseStops: a program that listens, opens and closes
// 200 files and then lets go of its listener (shutdown, close) has the
// handler asked about the listener's shutdown and close alone, from a
// thread other than the one that listened too; the 200 closes never stop.
func TestOnlyAListenersCloseStops(t *testing.T) {
	needPtrace(t)
	script := `import os, socket, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
for _ in range(200):
    os.close(os.open("/etc/hostname", os.O_RDONLY))
def let_go():
    s.shutdown(socket.SHUT_RDWR); s.close()
t = threading.Thread(target=let_go); t.start(); t.join()
print("closed")`
	h := &closeRecorder{}
	tr, got := traceFull(t, Config{Handler: h}, "python3", "-c", script)
	if got.status.Code != 0 || got.stdout != "closed\n" {
		t.Fatalf("got %+v", got)
	}
	if len(h.shuts) != 1 || len(h.closes) != 1 || h.shuts[0] != h.closes[0] {
		t.Errorf("asked about shutdowns of fds %v and closes of fds %v; want the listener's one shutdown and one close", h.shuts, h.closes)
	}
	if st := tr.Stats(); st.CloseWatches != 1 {
		t.Errorf("stats %+v: want one close watch", st)
	}
}
