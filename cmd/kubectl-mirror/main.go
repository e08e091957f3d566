// Command kubectl-mirror is the kubectl plugin: `kubectl mirror run deploy/api -- go run .`
// runs a local program as if it lived inside a pod of deploy/api.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/cmd"
)

func main() {
	// The traced program gets Ctrl-C from the terminal itself; the context only
	// tells the plugin to wind down (and remove the pod's files it copied).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	// Warnings by default; -v raises the level once the flags are parsed.
	level := zap.NewAtomicLevelAt(zap.WarnLevel)
	enc := zap.NewDevelopmentEncoderConfig()
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), level))
	code := cmd.Execute(ctx, streams, os.Args[1:], cmd.Logging{Logger: logger, Level: level})
	_ = logger.Sync()
	stop()
	os.Exit(code)
}
