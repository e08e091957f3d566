// Package agent is the in-pod side of kubectl mirror. It imports no client-go:
// it is a small static binary that only talks to its own session.
package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Config is what the agent needs to run; main fills it from flags.
type Config struct {
	ListenAddr  string        // must be a loopback address: the port-forward reaches it, other pods cannot
	IdleTimeout time.Duration // exit after this long with no open connection
	Secret      string        // every session must present it
	TargetPID   int           // the target container's process, as this agent's /proc numbers it
	ProcRoot    string        // "/proc"; tests point it elsewhere
	Logger      *zap.Logger
}

// ErrNoSecret is returned when the agent would accept anyone.
var ErrNoSecret = errors.New("agent needs a session secret")

// ErrNotLoopback is returned when asked to listen anywhere but loopback.
var ErrNotLoopback = errors.New("agent listens on loopback only")

// Run serves until ctx ends or the agent has been idle for cfg.IdleTimeout.
func Run(ctx context.Context, cfg Config) error {
	ap, err := netip.ParseAddrPort(cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", cfg.ListenAddr, err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("%s: %w", cfg.ListenAddr, ErrNotLoopback)
	}
	if cfg.Secret == "" {
		return ErrNoSecret
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
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	// A crashed agent's redirects must not outlive it: clear them first.
	removeStaleRedirects()
	rd := &redirects{}
	idle := newIdleTracker(cfg.IdleTimeout)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-idle.expired():
		}
		ln.Close()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || idle.isExpired() {
				return nil
			}
			return err
		}
		idle.begin()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer idle.end()
			serveSession(ctx, cfg, c, rd)
		}()
	}
}
