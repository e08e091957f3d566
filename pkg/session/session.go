// Package session is the plugin's end of one smux session with an agent:
// the handshake, then one stream per request.
package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/xtaci/smux"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Session is a connected, authenticated session.
type Session struct {
	smux    *smux.Session
	control *smux.Stream
	Agent   protocol.Welcome
}

// Dialer opens the transport to the agent (a port-forward in real use).
type Dialer func() (net.Conn, error)

// Connect dials the agent and shakes hands. The agent may have just started:
// dialing is retried until ctx's deadline, but a refused handshake is final.
func Connect(ctx context.Context, dial Dialer, pluginVersion, secret string) (*Session, error) {
	var lastErr error
	for {
		s, err := connectOnce(dial, pluginVersion, secret)
		if err == nil {
			return s, nil
		}
		if errors.Is(err, protocol.ErrWrongSecret) || errors.Is(err, protocol.ErrVersionMismatch) {
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

func connectOnce(dial Dialer, pluginVersion, secret string) (*Session, error) {
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	sess, err := smux.Client(conn, protocol.SmuxConfig())
	if err != nil {
		conn.Close()
		return nil, err
	}
	control, err := sess.OpenStream()
	if err != nil {
		sess.Close()
		return nil, err
	}
	w, err := protocol.ClientHandshake(control, pluginVersion, secret)
	if err != nil {
		sess.Close()
		return nil, err
	}
	return &Session{smux: sess, control: control, Agent: w}, nil
}

// Env returns the target process's environment.
func (s *Session) Env() ([]string, error) {
	resp, err := s.request(protocol.Request{Kind: protocol.KindEnv})
	if err != nil {
		return nil, err
	}
	return resp.Env, nil
}

func (s *Session) request(req protocol.Request) (protocol.Response, error) {
	st, resp, err := s.open(req)
	if err != nil {
		return resp, err
	}
	st.Close()
	return resp, nil
}

// Close ends the session; the agent drops what the session owned.
func (s *Session) Close() error {
	s.control.Close()
	return s.smux.Close()
}
