package incoming

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/xtaci/smux"
	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// membership is a claim held through another agent: when that agent ends,
// the claim is made again (this agent may route the port itself then).
type membership struct {
	mu      sync.Mutex
	release func() // ends the current claim
	ended   bool
}

// set makes release the current claim's end (at once if the claim ended).
func (m *membership) set(release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended {
		go release()
		return
	}
	m.release = release
}

func (m *membership) leave() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ended = true
	if m.release != nil {
		m.release()
	}
}

func (m *membership) isEnded() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ended
}

// joinPeer claims port for s through the agent whose table is owner.
func joinPeer(ctx context.Context, t *Ports, owner string, port int, s *subscriber) (func(), error) {
	m := &membership{}
	if err := m.claim(ctx, t, owner, port, s); err != nil {
		return nil, err
	}
	return m.leave, nil
}

func (m *membership) claim(ctx context.Context, t *Ports, owner string, port int, s *subscriber) error {
	c, err := net.Dial("unix", peerSocket(owner))
	if err != nil {
		return fmt.Errorf("%w: %v", errNotRouted, err)
	}
	sess, err := smux.Client(c, protocol.SmuxConfig())
	if err != nil {
		c.Close()
		return err
	}
	ctl, err := sess.OpenStream()
	if err == nil {
		err = sendSignedClaim(ctl, owner, s.request(port), s)
	}
	var resp protocol.Response
	if err == nil {
		_ = ctl.SetReadDeadline(time.Now().Add(protocol.AuthTimeout))
		err = protocol.Read(ctl, &resp)
		_ = ctl.SetReadDeadline(time.Time{})
	}
	if err != nil {
		sess.Close()
		return fmt.Errorf("%w: %v", errNotRouted, err)
	}
	if resp.Error != "" {
		sess.Close()
		switch resp.Errno {
		case "EADDRINUSE":
			return heldError{resp.Error}
		case "ENOENT":
			return errNotRouted
		}
		return errors.New(resp.Error)
	}
	m.set(func() { sess.Close() })
	t.log.Info("port shared through another agent", zap.Int("port", port), zap.String("agent", owner))
	go relayFromPeer(sess, s)
	go m.watch(ctx, t, ctl, port, s)
	return nil
}

// sendSignedClaim answers the routing agent's challenge with the claim,
// signed by s's plugin (this agent holds no key).
func sendSignedClaim(ctl *smux.Stream, table string, claim protocol.Request, s *subscriber) error {
	if s.ask == nil {
		return errors.New("no plugin to sign the claim")
	}
	var ch protocol.PeerChallenge
	_ = ctl.SetReadDeadline(time.Now().Add(peerAdmitWait))
	err := protocol.Read(ctl, &ch)
	_ = ctl.SetReadDeadline(time.Time{})
	if err != nil {
		return fmt.Errorf("the routing agent's challenge: %w", err)
	}
	a, err := s.ask(protocol.Ask{Sign: &protocol.ClaimToSign{Table: table, Nonce: ch.Nonce, Claim: claim}})
	if err != nil {
		return fmt.Errorf("sign the claim: %w", err)
	}
	return protocol.Write(ctl, protocol.PeerClaim{Claim: claim, Key: a.Key, Signature: a.Signature})
}

// watch waits for the router's word: another session took the port over,
// or the routing agent ended and the claim is made again.
func (m *membership) watch(ctx context.Context, t *Ports, ctl *smux.Stream, port int, s *subscriber) {
	var resp protocol.Response
	if err := protocol.Read(ctl, &resp); err == nil && resp.Error != "" {
		s.evict(resp.Error)
		return
	}
	if m.isEnded() || ctx.Err() != nil {
		return
	}
	t.log.Info("the agent routing the port ended; claiming it again", zap.Int("port", port))
	RemoveStaleRedirects()
	leave, err := t.join(ctx, port, s)
	if err != nil {
		s.evict(fmt.Sprintf("port %d was lost: %v", port, err))
		return
	}
	m.set(leave)
}

// relayFromPeer hands each connection the routing agent sends to s.
func relayFromPeer(sess *smux.Session, s *subscriber) {
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go func() {
			var hdr protocol.IncomingConn
			if err := protocol.Read(st, &hdr); err != nil {
				st.Close()
				return
			}
			up, err := s.open(hdr)
			if hdr.Mode != protocol.ModeMirror {
				// The routing agent waits for our plugin's word, passed on.
				if werr := protocol.WriteDelivered(st, err == nil); werr != nil && err == nil {
					up.Close()
					err = werr
				}
			}
			if err != nil {
				st.Close()
				return
			}
			netpipe.Join(st, up, nil, nil)
		}()
	}
}
