package incoming

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// The program's own close or shutdown of its last listening socket on a
// port gives the port back before the call returns: the call is held while
// every agent removes its redirect. Every close of the program stops in the
// tracer, so the common case, an fd that is not a known listener, is one
// map lookup. A listener's fd may have been dup'd or inherited by a child
// (neither is seen): closing one of its fds looks for the others in the
// program's processes and remembers them, so the last one is known too.
// What is not seen (an exit, dup2 over the fd, close_range) the poll of
// listeners.go catches.

// fdKey is one fd of one process.
type fdKey struct{ pid, fd int }

// releaseWait bounds how long a program's close waits for an agent to say
// the redirect is gone, and for a claim being made to end.
const releaseWait = 2 * time.Second

// rememberFD records that pid's fd names the listening socket ino.
func (m *Manager) rememberFD(pid, fd int, ino uint64) {
	m.fds.Store(fdKey{pid, fd}, ino)
}

// OnClose decides close and shutdown: the last listening socket of a pod
// port closing withdraws its redirect first.
func (m *Manager) OnClose(c *tracer.Call) tracer.Verdict {
	key := fdKey{c.PID, c.FD}
	v, ok := m.fds.Load(key)
	if !ok {
		return tracer.Allow()
	}
	ino := v.(uint64)
	if fdInode(c.PID, c.FD) != ino { // the fd was closed unseen and reused
		m.fds.Delete(key)
		return tracer.Allow()
	}
	if c.Syscall == tracer.SysShutdown {
		if c.ShutdownHow() == unix.SHUT_WR {
			return tracer.Allow() // a listener stops only when its receive side shuts
		}
	} else {
		m.fds.Delete(key)
		if others := otherFDs(ino, key); len(others) > 0 {
			for _, k := range others {
				m.fds.Store(k, ino)
			}
			return tracer.Allow()
		}
	}
	podPort, last := m.forget(ino)
	if !last {
		return tracer.Allow()
	}
	go func() {
		m.withdraw(podPort)
		c.Resume(tracer.Allow())
	}()
	return tracer.Hold()
}

// forget drops the listening socket ino; last says it was its port's last.
func (m *Manager) forget(ino uint64) (podPort int, last bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p, socks := range m.listeners {
		if _, ok := socks[ino]; ok {
			delete(socks, ino)
			return p, len(socks) == 0
		}
	}
	return 0, false
}

// release gives each claim back and waits (a while) for its agent to say
// the redirect is gone; then the streams close.
func (m *Manager) release(claims map[*session.Stream]chan struct{}) {
	var wg sync.WaitGroup
	for st, done := range claims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer st.Close()
			if protocol.Write(st, protocol.Answer{Release: true}) != nil || done == nil {
				return
			}
			select {
			case <-done:
			case <-time.After(releaseWait):
			}
		}()
	}
	wg.Wait()
}

// fdInode is the socket inode pid's fd names, 0 if none.
func fdInode(pid, fd int) uint64 {
	link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		return 0
	}
	return socketInode(link)
}

// socketInode reads "socket:[INODE]".
func socketInode(link string) uint64 {
	s, ok := strings.CutPrefix(link, "socket:[")
	if !ok {
		return 0
	}
	ino, _ := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
	return ino
}

// otherFDs is every fd of the program's processes (this process's
// descendants) but except that names the socket ino.
func otherFDs(ino uint64, except fdKey) []fdKey {
	var out []fdKey
	for _, pid := range descendants(os.Getpid()) {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd/"
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			fd, err := strconv.Atoi(e.Name())
			if err != nil || (fdKey{pid, fd}) == except {
				continue
			}
			if link, err := os.Readlink(dir + e.Name()); err == nil && socketInode(link) == ino {
				out = append(out, fdKey{pid, fd})
			}
		}
	}
	return out
}

// descendants lists pid's descendant processes, from each thread's
// children (the tracer's thread is the program's parent).
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	seen := map[int]bool{pid: true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(p) + "/task")
		for _, t := range tasks {
			b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/task/" + t.Name() + "/children")
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil && !seen[c] {
					seen[c] = true
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}
