//go:build e2e

package e2e

import (
	"os"
	"testing"
)

// TestMain removes the programs the suite built.
func TestMain(m *testing.M) {
	code := m.Run()
	if testProgs.dir != "" {
		os.RemoveAll(testProgs.dir)
	}
	os.Exit(code)
}
