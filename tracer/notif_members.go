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
func (e *notifEngine) track(pid int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.members[pid]; ok {
		return
	}
	if len(e.members) >= maxMembers {
		e.forgetExitedMembers()
	}
	if fd, err := unix.PidfdOpen(pid, 0); err == nil { // close-on-exec
		e.members[pid] = fd
	}
}

// forgetExitedMembers closes the pidfds of processes that ended (a pidfd
// polls readable then).
// Precondition: mu is held.
func (e *notifEngine) forgetExitedMembers() {
	for pid, fd := range e.members {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, _ := unix.Poll(fds, 0); n > 0 {
			unix.Close(fd)
			delete(e.members, pid)
		}
	}
}

// killMembers ends every process of the debuggees seen.
// Precondition: mu is held.
func (e *notifEngine) killMembers() {
	for _, fd := range e.members {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// closeMembers lets go of the pidfds once no listener is left.
func (e *notifEngine) closeMembers() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for pid, fd := range e.members {
		unix.Close(fd)
		delete(e.members, pid)
	}
}
