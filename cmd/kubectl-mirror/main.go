// Command kubectl-mirror is the kubectl plugin: `kubectl mirror run deploy/api -- go run .`
// runs a local program as if it lived inside a pod of deploy/api.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/cmd"
	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

func main() {
	// The traced program gets Ctrl-C from the terminal itself; the context only
	// tells the plugin to wind down (and remove the pod's files it copied).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	// A reader that goes away (`run ... 2>&1 | head -3`) must not kill the
	// plugin before it ends its session (a copy deleted, a scale restored):
	// with SIGPIPE asked for, a write to it fails with EPIPE instead. A
	// handled signal goes back to its default in the programs run.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	// Warnings by default; -v raises the level once the flags are parsed.
	level := zap.NewAtomicLevelAt(zap.WarnLevel)
	enc := zap.NewDevelopmentEncoderConfig()
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), level))
	// Which engine the tracer runs (hybrid, the default, or ptrace): a
	// switch for comparing them, not a flag users need.
	engine, err := tracer.ParseEngine(os.Getenv("MIRROR_TRACER_ENGINE"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: MIRROR_TRACER_ENGINE:", err)
		os.Exit(2)
	}
	code := cmd.Execute(ctx, streams, os.Args[1:], cmd.Logging{Logger: logger, Level: level, Engine: engine})
	_ = logger.Sync()
	stop()
	os.Exit(code)
}
