package tracer

import "golang.org/x/sys/unix"

// The notification engine learns a debuggee's processes only from their
// calls. It keeps a pidfd of each, taken while the process waits for its
// first answer (so the pid is still its own), and when the session ends it
// ends them all, as the ptrace engine ends every tracee: even one that left
// the debuggee's process group (a daemon) would otherwise keep its
// listener, and the plugin, waiting.

// maxMembers: above this, members that exited are forgotten first.
const maxMembers = 512

// track keeps a pidfd of process pid, once.
func (t *Tracer) track(pid int) {
	t.notifyMu.Lock()
	defer t.notifyMu.Unlock()
	if _, ok := t.members[pid]; ok {
		return
	}
	if len(t.members) >= maxMembers {
		t.forgetExitedMembers()
	}
	if fd, err := unix.PidfdOpen(pid, 0); err == nil { // close-on-exec
		t.members[pid] = fd
	}
}

// forgetExitedMembers closes the pidfds of processes that ended (a pidfd
// polls readable then).
// Precondition: notifyMu is held.
func (t *Tracer) forgetExitedMembers() {
	for pid, fd := range t.members {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 0); n > 0 {
			unix.Close(fd)
			delete(t.members, pid)
		}
	}
}

// killMembers ends every process of the debuggees seen.
// Precondition: notifyMu is held.
func (t *Tracer) killMembers() {
	for _, fd := range t.members {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// closeMembers lets go of the pidfds once no listener is left.
func (t *Tracer) closeMembers() {
	t.notifyMu.Lock()
	defer t.notifyMu.Unlock()
	for pid, fd := range t.members {
		unix.Close(fd)
		delete(t.members, pid)
	}
}
