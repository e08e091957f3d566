// Command mirror-agent is kubectl mirror's in-pod agent. It runs as an
// ephemeral container next to the target container, listens on 127.0.0.1 only
// (reached through a port-forward), and exits when no session has used it for
// the idle timeout.
package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/agent"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// agentMemoryLimit is a soft limit: the garbage collector works harder near
// it, it never refuses an allocation.
const agentMemoryLimit = 32 << 20

func main() {
	args, err := protocol.ParseAgentArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirror-agent:", err)
		os.Exit(2)
	}
	if args.Version {
		fmt.Println("mirror-agent", version.Version)
		return
	}
	if err := protocol.CheckIdentity(args.Identity); err != nil {
		fmt.Fprintln(os.Stderr, "mirror-agent:", err)
		os.Exit(2)
	}
	key, err := protocol.ParseKey(args.Key)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirror-agent:", err)
		os.Exit(2)
	}
	cfg := agent.Config{ListenAddr: args.ListenAddr(), IdleTimeout: args.IdleTimeout, TargetPID: args.TargetPID,
		AuthorizedKeys: []ed25519.PublicKey{key}, Identity: args.Identity}
	logger, err := zap.NewProduction()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mirror-agent:", err)
		os.Exit(1)
	}
	cfg.Logger = logger
	if os.Getenv("GOMEMLIMIT") == "" {
		// The agent lives in the user's pod: after a burst (a bulk transfer
		// fills smux's buffers) give the memory back rather than keep it.
		debug.SetMemoryLimit(agentMemoryLimit)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// The agent only moves bytes between sockets: on one P a goroutine
		// hand-off (smux's writer, its send loop, the copy loops) is a switch
		// on the same thread instead of a futex wake of another one. Measured
		// through a redirected connection: 190-246 -> 128-150 us of agent CPU
		// a keep-alive request, 23 -> 16 syscalls (docs/performance.md).
		runtime.GOMAXPROCS(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "mirror-agent:", err)
		os.Exit(1)
	}
}
