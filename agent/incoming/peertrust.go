package incoming

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// peerTrust decides whose claims this agent's routers take from other
// agents of the pod. The pod spec is the trust root: only those allowed to
// patch pods/ephemeralcontainers can put an agent there. This agent cannot
// read the pod spec; its own plugins can, so it asks them whether a key is
// an agent's of the pod, and remembers the answer (agents are never removed
// from a pod spec).
type peerTrust struct {
	podUID string

	mu      sync.Mutex
	vouched map[string]string // key (EncodeKey) -> the agent container it was started in
	askers  map[*claimStream]bool
}

// newPeerTrust trusts keys, the agent's own users', as the agent identity
// (a protocol.AgentIdentity) names it.
func newPeerTrust(identity string, keys []ed25519.PublicKey) *peerTrust {
	uid, name, _ := strings.Cut(identity, "/")
	p := &peerTrust{podUID: uid, vouched: map[string]string{}, askers: map[*claimStream]bool{}}
	for _, k := range keys {
		p.vouched[protocol.EncodeKey(k)] = name
	}
	return p
}

// addAsker makes a live claim of this agent's plugin one to ask; the
// returned func forgets it.
func (p *peerTrust) addAsker(c *claimStream) func() {
	p.mu.Lock()
	p.askers[c] = true
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.askers, c)
		p.mu.Unlock()
	}
}

// vouch returns the agent container the pod spec holds for key.
func (p *peerTrust) vouch(key string) (string, error) {
	p.mu.Lock()
	name, ok := p.vouched[key]
	askers := make([]*claimStream, 0, len(p.askers))
	for c := range p.askers {
		askers = append(askers, c)
	}
	p.mu.Unlock()
	if ok {
		return name, nil
	}
	if len(askers) == 0 {
		return "", fmt.Errorf("key %s is not known to this agent, and no session of its user is here to read the pod spec", protocol.KeyFingerprint(key))
	}
	for _, c := range askers {
		a, err := c.ask(protocol.Ask{Vouch: key})
		if err != nil {
			continue
		}
		if a.Agent == "" {
			return "", fmt.Errorf("no agent in the pod spec carries key %s", protocol.KeyFingerprint(key))
		}
		p.mu.Lock()
		p.vouched[key] = a.Agent
		p.mu.Unlock()
		return a.Agent, nil
	}
	return "", fmt.Errorf("key %s could not be checked against the pod spec", protocol.KeyFingerprint(key))
}

// holder names a verified user in messages to others: never words the
// claimant chose.
func holder(key, agent string) string {
	return fmt.Sprintf("kubectl mirror of key %s (agent %s)", protocol.KeyFingerprint(key), agent)
}

// ownKey is the key this agent serves (the first of keys), as EncodeKey
// writes it.
func ownKey(keys []ed25519.PublicKey) string {
	if len(keys) == 0 {
		return ""
	}
	return protocol.EncodeKey(keys[0])
}
