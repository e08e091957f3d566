// Package agent is the in-pod side of kubectl mirror. It imports no client-go:
// it is a small static binary that only talks to its own session.
//
// This package is the core: the listener, authentication, the idle exit and
// each session's dispatch of requests (session.go), the one place that
// knows every capability. The capabilities live in packages of their own,
// given only what they need: podfs (the target's files and environment),
// egress (connections, UDP and DNS from the pod) and incoming (the pod's
// ports, mirrored or stolen, shared with other agents of the pod).
package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/agent/incoming"
	"github.com/kubectl-mirror/kubectl-mirror/agent/podfs"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// Config is what the agent needs to run; main fills it from flags.
type Config struct {
	ListenAddr  string        // Run's; must be a loopback address: the port-forward reaches it, other pods cannot
	IdleTimeout time.Duration // exit after this long with no authenticated session
	// AuthorizedKeys are the public keys whose holders may open a session:
	// the user who started the agent.
	AuthorizedKeys []ed25519.PublicKey
	AuthTimeout    time.Duration // a connection must authenticate within it (protocol.AuthTimeout)
	// Identity is this agent's protocol.AgentIdentity: proofs are made for it.
	Identity  string
	TargetPID int    // the target container's process, as this agent's /proc numbers it
	ProcRoot  string // "/proc"; tests point it elsewhere
	Logger    *zap.Logger
}

// ErrNoKey is returned when the agent would accept nobody.
var ErrNoKey = errors.New("agent needs an authorized key")

// maxUnauthenticated bounds the connections that are still proving who they
// are; more are closed at once, so a flood costs a bounded amount.
const maxUnauthenticated = 64

// ErrNotLoopback is returned when asked to listen anywhere but loopback.
var ErrNotLoopback = errors.New("agent listens on loopback only")

// Run listens on cfg.ListenAddr and serves until ctx ends or the agent has
// been idle for cfg.IdleTimeout.
func Run(ctx context.Context, cfg Config) error {
	if err := loopbackOnly(cfg.ListenAddr); err != nil {
		return err
	}
	if err := cfg.check(); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	return Serve(ctx, cfg, ln)
}

// Serve is Run on a listener the caller made (cfg.ListenAddr is not used):
// a test listens on a port of its choice and dials it at once. ln must be
// on loopback; Serve closes it.
func Serve(ctx context.Context, cfg Config, ln net.Listener) error {
	if err := loopbackOnly(ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	if err := cfg.check(); err != nil {
		ln.Close()
		return err
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = "/proc"
	}
	if cfg.TargetPID == 0 {
		cfg.TargetPID = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.AuthTimeout == 0 {
		cfg.AuthTimeout = protocol.AuthTimeout
	}
	// A crashed agent's redirects must not outlive it: clear them first.
	incoming.RemoveStaleRedirects()
	idle := newIdleTracker(cfg.IdleTimeout)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	caps := capabilities{
		target: podfs.NewTarget(cfg.ProcRoot, cfg.TargetPID),
		ports:  incoming.New(cfg.Logger, cfg.Identity, cfg.AuthorizedKeys, idle),
	}
	go caps.ports.ServePeers(ctx)
	go func() {
		select {
		case <-ctx.Done():
		case <-idle.expired():
		}
		cancel()
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	preauth := make(chan struct{}, maxUnauthenticated)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || idle.isExpired() {
				return nil
			}
			return err
		}
		select {
		case preauth <- struct{}{}:
		default:
			cfg.Logger.Warn("too many unauthenticated connections; closing", zap.Stringer("peer", c.RemoteAddr()))
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !authenticate(ctx, cfg, c) {
				<-preauth
				c.Close()
				return
			}
			<-preauth
			// Only an authenticated session keeps the agent alive.
			idle.Begin()
			defer idle.End()
			serveSession(ctx, cfg.Logger, newBufferedConn(c), caps)
		}()
	}
}

// loopbackOnly refuses an address anywhere but loopback.
func loopbackOnly(addr string) error {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("%s: %w", addr, ErrNotLoopback)
	}
	return nil
}

// check refuses a configuration that would accept nobody, or anybody.
func (cfg Config) check() error {
	if len(cfg.AuthorizedKeys) == 0 {
		return ErrNoKey
	}
	return protocol.CheckIdentity(cfg.Identity)
}

// authenticate runs the challenge on the raw connection, before anything
// else is read from it, within cfg.AuthTimeout.
func authenticate(ctx context.Context, cfg Config, c net.Conn) bool {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	_ = c.SetDeadline(time.Now().Add(cfg.AuthTimeout))
	who, err := protocol.ServerAuth(c, cfg.AuthorizedKeys, cfg.Identity)
	_ = c.SetDeadline(time.Time{})
	if err != nil {
		cfg.Logger.Info("connection refused", zap.Stringer("peer", c.RemoteAddr()), zap.Error(err))
		return false
	}
	cfg.Logger.Debug("authenticated", zap.String("key", protocol.EncodeKey(who)))
	return true
}
