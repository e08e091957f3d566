package incoming

import (
	"fmt"
	"strings"
	"sync"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/session"
)

// podLink is one pod's agent session and the redirects it holds.
type podLink struct {
	name string

	once    sync.Mutex // serialises making the session (an agent may start)
	sess    *session.Session
	sessErr error

	// guarded by Manager.mu
	serving map[int]*session.Stream // pod port -> the request keeping its redirect
	closed  bool
}

// session connects pl's capable agent once and starts taking its
// connections. It does not hold the manager's lock while an agent starts.
func (pl *podLink) session(m *Manager) (*session.Session, error) {
	pl.once.Lock()
	defer pl.once.Unlock()
	if pl.sess == nil && pl.sessErr == nil {
		pl.sess, pl.sessErr = m.cfg.NewSession(pl.name, func() { m.reregister(pl) })
		if pl.sessErr == nil {
			if pl.isClosed(m) { // the pod left while its agent started
				pl.sess.Close()
				pl.sess, pl.sessErr = nil, fmt.Errorf("pod/%s is gone", pl.name)
			} else {
				go m.accept(pl, pl.sess)
			}
		}
	}
	return pl.sess, pl.sessErr
}

func (pl *podLink) isClosed(m *Manager) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return pl.closed
}

// close ends pl's redirects and its session.
func (pl *podLink) close(m *Manager) {
	m.mu.Lock()
	pl.closed = true
	streams := pl.serving
	pl.serving = map[int]*session.Stream{}
	m.mu.Unlock()
	for _, st := range streams {
		st.Close()
	}
	pl.once.Lock()
	sess := pl.sess
	pl.once.Unlock()
	if sess != nil {
		sess.Close()
	}
}

// followPods keeps the served pods equal to the target's Ready pods: a new
// pod serves every port the program listens on, a gone pod's link ends.
func (m *Manager) followPods() {
	for names := range m.cfg.Pods {
		joined, left := m.setPods(names)
		for _, pl := range left {
			pl.close(m)
		}
		m.mu.Lock()
		ports := make(map[int]int, len(m.localFor))
		for p, l := range m.localFor {
			ports[p] = l
		}
		m.mu.Unlock()
		if len(ports) == 0 || !m.cfg.Workload {
			continue
		}
		if len(left) > 0 {
			m.cfg.Progress(fmt.Sprintf("incoming: %s left; %d pods serve now", podNames(left), len(names)))
		}
		for _, pl := range joined {
			for podPort, local := range ports {
				if m.redirectOn(pl, podPort, local) {
					m.cfg.Progress(fmt.Sprintf("%s: pod/%s joins: the pod's port %d -> local port %d (%d pods)", m.cfg.Mode, pl.name, podPort, local, len(names)))
				}
			}
		}
	}
}

// setPods replaces the set of pods and returns who joined and who left.
func (m *Manager) setPods(names []string) (joined, left []*podLink) {
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := map[string]bool{}
	for _, n := range names {
		keep[n] = true
		if m.pods[n] == nil {
			pl := &podLink{name: n, serving: map[int]*session.Stream{}}
			m.pods[n] = pl
			joined = append(joined, pl)
		}
	}
	for n, pl := range m.pods {
		if !keep[n] {
			delete(m.pods, n)
			left = append(left, pl)
		}
	}
	return joined, left
}

func podNames(pls []*podLink) string {
	var names []string
	for _, pl := range pls {
		names = append(names, "pod/"+pl.name)
	}
	return strings.Join(names, ", ")
}
