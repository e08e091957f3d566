package tracer

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Which process a notified call's thread belongs to, and how that process
// runs. Under the hybrid engine the ptrace engine follows every thread
// under a listener of ours and says so here before the thread can make a
// call (at its clone or exec event, where it is stopped), and forgets it
// when it is gone: exact, with nothing to check. A debuggee's threads are
// nobody's: their process is read from /proc once and cached, the cache
// checked on each use (a thread's id may be another's later).

// threadInfo is what the ptrace engine knows of a traced thread.
type threadInfo struct {
	pid  int
	mode Mode
}

// maxTgids bounds the debuggees' cache of thread -> process.
const maxTgids = 4096

// setThread records traced thread tid as one of process pid, running as mode.
func (e *notifEngine) setThread(tid, pid int, mode Mode) {
	e.mu.Lock()
	e.traced[tid] = threadInfo{pid: pid, mode: mode}
	e.mu.Unlock()
}

// forgetThread: traced thread tid is gone.
func (e *notifEngine) forgetThread(tid int) {
	e.mu.Lock()
	delete(e.traced, tid)
	e.mu.Unlock()
}

// threadOf is what the ptrace engine said of tid; ok is false for a
// thread it does not follow (a debuggee's).
func (e *notifEngine) threadOf(tid int) (threadInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.traced[tid]
	return t, ok
}

// tgid is the process a debuggee's thread belongs to, cached per thread; a
// cached answer is checked, since a thread's id may be reused by another's.
func (e *notifEngine) tgid(tid int) int {
	e.mu.Lock()
	pid, ok := e.tgids[tid]
	e.mu.Unlock()
	if ok && (pid == tid || unix.Access("/proc/"+strconv.Itoa(pid)+"/task/"+strconv.Itoa(tid), unix.F_OK) == nil) {
		return pid
	}
	pid = tid
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(tid) + "/status"); err == nil {
		if _, rest, ok := strings.Cut(string(b), "\nTgid:\t"); ok {
			if line, _, _ := strings.Cut(rest, "\n"); line != "" {
				if n, err := strconv.Atoi(line); err == nil {
					pid = n
				}
			}
		}
	}
	e.mu.Lock()
	if len(e.tgids) >= maxTgids {
		clear(e.tgids) // threads that ended are never told: start again
	}
	e.tgids[tid] = pid
	e.mu.Unlock()
	e.track(pid)
	return pid
}
