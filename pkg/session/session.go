// Package session is the plugin's end of its session with an agent: the
// handshake, then one stream per request, over a link that is made again
// when its port-forward drops.
package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

var (
	// ErrClosed: the session was closed by its owner.
	ErrClosed = errors.New("session closed")
	// ErrDisconnected: the link to the agent is down and did not come back in time.
	ErrDisconnected = errors.New("no connection to the agent")
	// ErrUnavailable, wrapped by an Establish error, says the agent cannot
	// come back soon (its pod is gone): requests fail at once instead of
	// waiting, while reconnecting goes on in case it does come back.
	ErrUnavailable = errors.New("the agent is unavailable")
)

// Establish makes a new link to the agent: the first one, and again after a
// link drops (finding the agent again, or starting a new one if it is gone).
type Establish func(ctx context.Context) (*Link, error)

// Options tune a session.
type Options struct {
	// Wait is how long a request waits for a lost link to come back before it
	// fails (default 30 s).
	Wait time.Duration
	// Reconnected is called after a lost link was replaced, so owners of
	// long-lived requests (incoming redirects) can make them again.
	Reconnected func()
	Progress    func(string) // one line each when the link is lost and back
	Logger      *zap.Logger
	// Answer answers the agent's questions on incoming claims (to sign a
	// claim on another agent's router, or to say whether the pod spec
	// holds an agent with a key). nil: every question is refused.
	Answer func(protocol.Ask) protocol.Answer
}

// Session is a session with an agent that survives dropped port-forwards:
// requests in flight on a lost link fail (their streams end), new ones wait
// for the next link.
type Session struct {
	establish Establish
	opts      Options
	ctx       context.Context
	cancel    context.CancelFunc

	mu      sync.Mutex
	cur     *Link         // nil while reconnecting
	up      chan struct{} // closed when a new link is in place
	unavail chan struct{} // closed when reconnecting met ErrUnavailable
	closed  bool
}

// New makes the first link and returns the session.
func New(ctx context.Context, establish Establish, opts Options) (*Session, error) {
	l, err := establish(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Wait == 0 {
		opts.Wait = 30 * time.Second
	}
	if opts.Progress == nil {
		opts.Progress = func(string) {}
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	s := &Session{establish: establish, opts: opts, cur: l}
	// The session lives until Close: a Ctrl-C that the program survives (a
	// REPL) cancels the plugin's context but must not stop reconnecting.
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go s.watch(l)
	return s, nil
}

// Agent is the welcome of the agent on the current link.
func (s *Session) Agent() protocol.Welcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return protocol.Welcome{}
	}
	return s.cur.Agent
}

func (s *Session) watch(l *Link) {
	select {
	case <-l.Done():
		s.lost(l)
	case <-s.ctx.Done():
	}
}

// lost replaces l, once, if it is still the current link.
func (s *Session) lost(l *Link) {
	s.mu.Lock()
	if s.closed || s.cur != l {
		s.mu.Unlock()
		return
	}
	s.cur = nil
	s.up = make(chan struct{})
	s.unavail = make(chan struct{})
	s.mu.Unlock()
	l.Close()
	s.opts.Progress("connection to the agent lost; reconnecting")
	go s.reconnect(time.Now())
}

// reconnect tries until a link is made or the session is closed, backing off
// to one attempt every 5 s.
func (s *Session) reconnect(since time.Time) {
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		l, err := s.establish(s.ctx)
		if err == nil {
			// Said before the link is in use, so the line precedes any traffic
			// that the new link carries.
			tries := "1 attempt"
			if attempt > 1 {
				tries = fmt.Sprintf("%d attempts", attempt)
			}
			s.opts.Progress(fmt.Sprintf("reconnected to the agent (%s, %s)", tries, time.Since(since).Round(time.Millisecond)))
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				l.Close()
				return
			}
			s.cur = l
			close(s.up)
			s.mu.Unlock()
			go s.watch(l)
			if s.opts.Reconnected != nil {
				s.opts.Reconnected()
			}
			return
		}
		if s.ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrUnavailable) {
			s.mu.Lock()
			select {
			case <-s.unavail:
			default:
				close(s.unavail)
			}
			s.mu.Unlock()
		}
		s.opts.Logger.Info("reconnect to the agent failed", zap.Int("attempt", attempt), zap.Error(err))
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// link returns the current link, waiting up to Options.Wait for one.
func (s *Session) link() (*Link, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if s.cur != nil {
		l := s.cur
		s.mu.Unlock()
		return l, nil
	}
	up, unavail := s.up, s.unavail
	s.mu.Unlock()
	t := time.NewTimer(s.opts.Wait)
	defer t.Stop()
	select {
	case <-up:
		return s.link()
	case <-unavail:
		return nil, ErrDisconnected
	case <-t.C:
		return nil, ErrDisconnected
	case <-s.ctx.Done():
		return nil, ErrClosed
	}
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
	s.mu.Lock()
	s.closed = true
	l := s.cur
	s.cur = nil
	s.mu.Unlock()
	s.cancel()
	if l != nil {
		return l.Close()
	}
	return nil
}
