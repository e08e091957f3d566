// Package launch runs a program under the tracer the way both commands do:
// start it, say "check your PATH" when it is not found, pass the plugin's
// signals on, pass on a Ctrl-C that came while it was being launched, and
// wait for it.
package launch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// Run traces cfg's program until it ends. The program outlives a cancelled
// ctx (it gets its own signals, as when run directly); a ctx cancelled while
// it was being launched is passed on as SIGINT.
func Run(ctx context.Context, cfg tracer.Config) (tracer.Status, error) {
	t, err := tracer.Start(context.WithoutCancel(ctx), cfg)
	if err != nil {
		switch {
		case errors.Is(err, tracer.ErrNotFound):
			return tracer.Status{}, fmt.Errorf("%w: check the command name and your PATH", err)
		case errors.Is(err, tracer.ErrNotExecutable):
			return tracer.Status{}, fmt.Errorf("%w: chmod +x it, or run it with its interpreter", err)
		}
		return tracer.Status{}, err
	}
	stop := forwardSignals(t.PID(), cfg.Stdin)
	defer stop()
	if ctx.Err() != nil {
		// Interrupted while the program was being launched, before signals
		// were passed on: pass this one on now.
		_ = syscall.Kill(t.PID(), syscall.SIGINT)
	}
	return t.Wait()
}

// forwardSignals passes SIGTERM and SIGHUP to the program. SIGINT is passed
// on only when stdin is not a terminal: from a terminal, Ctrl-C already
// reached the program, which shares the plugin's process group.
func forwardSignals(pid int, stdin *os.File) (stop func()) {
	sigs := []os.Signal{syscall.SIGTERM, syscall.SIGHUP}
	if stdin == nil || !term.IsTerminal(int(stdin.Fd())) {
		sigs = append(sigs, os.Interrupt)
	}
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				_ = syscall.Kill(pid, s.(syscall.Signal))
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }
}
