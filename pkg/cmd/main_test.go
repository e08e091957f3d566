package cmd

import (
	"os"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
)

// TestMain removes the plugin binary the trace tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}
