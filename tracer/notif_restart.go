package tracer

import "golang.org/x/sys/unix"

// A notified call held for a decision can be interrupted by a signal (a
// debugger stopping every thread, a timer); the kernel then restarts it, and
// it is notified again with a new id. Under ptrace a held call gets its
// signal only once decided, and the Handler decides each call once; so here
// too: a notification that repeats the held call of its thread (same number,
// same arguments) takes over that call's id instead of being asked again,
// and a decision that came while the call was between the two waits for the
// restarted one.

// restarted reports whether notification id is the restart of tid's held
// call, and if so hands that call the new id (and its decision, if made).
func (e *notifEngine) restarted(tid int, nr uint64, args [6]uint64, id uint64) bool {
	e.mu.Lock()
	c := e.heldCalls[tid]
	if c != nil && (c.nr != nr || c.args != args) {
		delete(e.heldCalls, tid) // the thread moved on: the held call was given up
		notifOf(c).dropAnswer()
		c = nil
	}
	e.mu.Unlock()
	if c == nil {
		return false
	}
	n := notifOf(c)
	n.mu.Lock()
	if n.answered {
		n.mu.Unlock()
		return false
	}
	n.id = id
	v, a := n.parked, n.parkedAnswer
	n.parked, n.parkedAnswer = nil, nil
	n.mu.Unlock()
	switch {
	case a != nil:
		go e.resend(c, *a)
	case v != nil:
		go e.answer(c, *v)
	}
	return true
}

// holdFor records c as its thread's held call, unless already answered.
func (e *notifEngine) holdFor(c *Call) {
	n := notifOf(c)
	n.mu.Lock()
	answered := n.answered
	n.mu.Unlock()
	if answered {
		return
	}
	e.mu.Lock()
	e.heldCalls[c.TID] = c
	e.mu.Unlock()
}

// currentID is the id the call waits under now.
func (n *notification) currentID() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// park keeps, for the restart of the call gone under id, the decision v
// (made again then) or the answer a made for it (sent as it is); it is
// false when the restart came already (answer that one).
func (n *notification) park(id uint64, v *Verdict, a *notifyAnswer) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.id != id {
		return false
	}
	n.parked, n.parkedAnswer = v, a
	return true
}

// dropAnswer closes the fd of an answer kept for a restart that will not come.
func (n *notification) dropAnswer() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if a := n.parkedAnswer; a != nil && a.fd >= 0 {
		unix.Close(a.fd)
	}
	n.parkedAnswer = nil
}

// delivered marks the call answered and forgets it as its thread's held call.
func (e *notifEngine) delivered(c *Call) {
	n := notifOf(c)
	n.mu.Lock()
	n.answered = true
	n.mu.Unlock()
	e.mu.Lock()
	if e.heldCalls[c.TID] == c {
		delete(e.heldCalls, c.TID)
	}
	e.mu.Unlock()
}
