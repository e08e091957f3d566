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
)

// Config is what the agent needs to run; main fills it from flags.
type Config struct {
	ListenAddr  string        // must be a loopback address: the port-forward reaches it, other pods cannot
	IdleTimeout time.Duration // exit after this long with no open connection
}

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
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
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
			serveConn(ctx, c)
		}()
	}
}

// serveConn holds a connection open until the peer or ctx closes it. The
// session protocol that rides on it is not implemented yet.
func serveConn(ctx context.Context, c net.Conn) {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}
