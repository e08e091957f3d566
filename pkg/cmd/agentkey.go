package cmd

import (
	"fmt"
	"path/filepath"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/imageids"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/run"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/userkey"
)

// withAgentKey gives the run the user's key (made on first use) and the store
// of the image IDs the user's agents ran, kept beside it.
func withAgentKey(cfg *run.Config) error {
	keyPath, err := userkey.DefaultPath()
	if err != nil {
		return err
	}
	key, err := userkey.LoadOrCreate(keyPath)
	if err != nil {
		return fmt.Errorf("your kubectl mirror key: %w", err)
	}
	cfg.Agent.Key = key
	cfg.Agent.ImageIDs = imageids.Open(filepath.Join(filepath.Dir(keyPath), imageids.FileName))
	return nil
}
