//go:build e2e

package e2e

import (
	"os"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
)

// TestMain removes the programs the suite built.
func TestMain(m *testing.M) {
	code := m.Run()
	testbin.Remove()
	os.Exit(code)
}
