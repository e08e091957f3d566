package session

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/xtaci/smux"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Link is one connected, authenticated smux session with an agent over one
// transport (a port-forward). It ends when the transport does.
type Link struct {
	smux      *smux.Session
	transport *transport
	control   *smux.Stream
	Agent     protocol.Welcome
}

// Dialer opens the transport to the agent (a port-forward in real use).
type Dialer func() (net.Conn, error)

// authWait bounds one attempt's authentication: a port-forward connection
// has no deadlines, so it is closed instead.
const authWait = 10 * time.Second

// Connect dials the agent, proves the user's key for the agent named
// identity (protocol.AgentIdentity) and shakes hands. The agent may have
// just started: dialing is retried until ctx's deadline, but a refused key
// or version is final.
func Connect(ctx context.Context, dial Dialer, pluginVersion string, key ed25519.PrivateKey, identity string) (*Link, error) {
	var lastErr error
	for {
		l, err := connectOnce(ctx, dial, pluginVersion, key, identity)
		if err == nil {
			return l, nil
		}
		if errors.Is(err, protocol.ErrNotAuthorized) || errors.Is(err, protocol.ErrVersionMismatch) {
			return nil, err
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to the agent: %w", lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func connectOnce(ctx context.Context, dial Dialer, pluginVersion string, key ed25519.PrivateKey, identity string) (*Link, error) {
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, authWait)
	stop := context.AfterFunc(actx, func() { conn.Close() })
	err = protocol.ClientAuth(conn, key, identity)
	stopped := stop()
	cancel()
	if !stopped {
		err = fmt.Errorf("authenticate to the agent: %w", context.DeadlineExceeded)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	tr := newTransport(conn)
	sess, err := smux.Client(tr, protocol.SmuxConfig())
	if err != nil {
		conn.Close()
		return nil, err
	}
	control, err := sess.OpenStream()
	if err != nil {
		sess.Close()
		return nil, err
	}
	w, err := protocol.ClientHandshake(control, pluginVersion)
	if err != nil {
		sess.Close()
		return nil, err
	}
	return &Link{smux: sess, transport: tr, control: control, Agent: w}, nil
}

// Done is closed when the link has ended, by Close or by its transport.
func (l *Link) Done() <-chan struct{} { return l.transport.dead }

// Close ends the link; the agent drops what the session owned.
func (l *Link) Close() error {
	l.control.Close()
	return l.smux.Close()
}
