package tracer

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Signals under the hybrid engine. A notified call waits in the kernel for
// its answer; by default any signal ends that wait, and the program gets
// EINTR (or a restart) while what was being made for it goes on: a connect
// the pod was still dialing for was never made, so the program's poll found
// an unconnected socket writable and took it for connected; an address
// written into its memory after it moved on could land in reused memory.
// With SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19) a call the
// engine has received waits through every signal but a fatal one, as a
// call held at a ptrace stop does: its signal comes once it is answered.
// A call that blocks for the program (an accept, a receive) must still
// give way to a signal, as in the kernel: while it waits, the engine looks
// for a signal the thread would take, and answers ERESTARTSYS, which the
// kernel turns into EINTR, or a restart (SA_RESTART, or no handler ran).

// signalPending reports whether thread tid of process pid has a signal
// pending that it does not block or ignore: one that would interrupt a
// blocking call of it.
func signalPending(pid, tid int) bool {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/status")
	if err != nil {
		return false
	}
	defer f.Close()
	var pending, blocked, ignored uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err != nil {
			continue
		}
		switch key {
		case "SigPnd", "ShdPnd":
			pending |= mask
		case "SigBlk":
			blocked = mask
		case "SigIgn":
			ignored = mask
		}
	}
	return pending&^blocked&^ignored != 0
}
