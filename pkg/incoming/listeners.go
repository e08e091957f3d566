package incoming

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/procnet"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// withdrawEvery is how often the program's listening sockets are checked: a
// port it no longer listens on goes back to the pod's app within about twice
// this (a socket must be missed by two reads of the table in a row: one read
// can skip a live socket's row while other sockets come and go).
const withdrawEvery = 500 * time.Millisecond

// listenGrace: a socket recorded at listen() that never shows as listening
// (the call failed) is forgotten after this.
const listenGrace = 2 * time.Second

// listener is one listening socket of the program, by inode.
type listener struct {
	since  time.Time
	seen   bool // shown as LISTEN at least once
	missed bool // not shown by the last read after it was
}

// watchListeners withdraws a pod port once none of the program's sockets
// that listened for it is listening any more (closed, shut down, or its
// process exited), so the pod's app serves it again; a later listen() asks
// for it anew.
func (m *Manager) watchListeners() {
	t := time.NewTicker(withdrawEvery)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		listening := listeningInodes()
		for _, podPort := range m.expired(listening) {
			m.withdraw(podPort)
		}
	}
}

// expired updates what is known of each port's sockets and returns the pod
// ports left with none.
func (m *Manager) expired(listening map[uint64]bool) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var gone []int
	for podPort, socks := range m.listeners {
		for ino, l := range socks {
			switch {
			case listening[ino]:
				l.seen, l.missed = true, false
			case l.seen && !l.missed:
				l.missed = true
			case l.seen || time.Since(l.since) > listenGrace:
				delete(socks, ino)
			}
		}
		if len(socks) == 0 {
			gone = append(gone, podPort)
		}
	}
	return gone
}

// withdraw ends the redirect of podPort on every pod, and returns once
// each agent said its redirect is gone (or a while passed): a claim still
// being made is waited for first.
func (m *Manager) withdraw(podPort int) {
	m.mu.Lock()
	pending := m.pending[podPort]
	m.mu.Unlock()
	if pending != nil {
		select {
		case <-pending:
		case <-time.After(releaseWait):
		}
	}
	m.mu.Lock()
	local, was := m.localFor[podPort]
	delete(m.localFor, podPort)
	delete(m.listeners, podPort)
	claims := map[*session.Stream]chan struct{}{}
	for _, pl := range m.pods {
		if st := pl.serving[podPort]; st != nil {
			claims[st] = m.claimDone[st]
			delete(pl.serving, podPort)
		}
	}
	m.mu.Unlock()
	m.release(claims)
	if !was {
		return
	}
	m.cfg.Logger.Info("incoming off: the program stopped listening", zap.Int("podPort", podPort), zap.Int("local", local))
	m.cfg.Progress(fmt.Sprintf("the program no longer listens on port %d: the pod's port %d is its own app's again", local, podPort))
}

// listeningInodes is this network namespace's TCP sockets in LISTEN state
// (the program's among them: it runs beside the plugin).
func listeningInodes() map[uint64]bool {
	out := map[uint64]bool{}
	for _, s := range procnet.Sockets("tcp") {
		if s.State == procnet.StateListen {
			out[s.Inode] = true
		}
	}
	return out
}
