// Command mirror-agent is kubectl mirror's in-pod agent. It runs as an
// ephemeral container next to the target container, listens on 127.0.0.1 only
// (reached through a port-forward), and exits when no session has used it for
// the idle timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/agent"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// agentMemoryLimit is a soft limit: the garbage collector works harder near
// it, it never refuses an allocation.
const agentMemoryLimit = 32 << 20

func main() {
	cfg := agent.Config{}
	flag.StringVar(&cfg.ListenAddr, "listen", "127.0.0.1:47000", "address to listen on (loopback only)")
	flag.DurationVar(&cfg.IdleTimeout, "idle-timeout", 5*time.Minute, "exit after this long with no session")
	flag.IntVar(&cfg.TargetPID, "target-pid", 1, "the target container's process in this agent's PID namespace")
	flag.Func(strings.TrimPrefix(protocol.AuthorizedKeyFlag, "--"), "the public key of the user who may open sessions (ed25519:BASE64URL)", func(s string) error {
		k, err := protocol.ParseKey(s)
		cfg.AuthorizedKeys = append(cfg.AuthorizedKeys, k)
		return err
	})
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("mirror-agent", version.Version)
		return
	}
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.Run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "mirror-agent:", err)
		os.Exit(1)
	}
}
