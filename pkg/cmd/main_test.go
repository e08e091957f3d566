package cmd

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMain removes the plugin binary the trace tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if plugin.path != "" {
		os.RemoveAll(filepath.Dir(plugin.path))
	}
	os.Exit(code)
}
