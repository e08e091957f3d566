package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/run"
)

// splitCommand reads --copy-target-command: a JSON array of strings, else
// words split at spaces (no shell quoting: use the array for that).
func splitCommand(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(s), &argv); err != nil || len(argv) == 0 {
			return nil, fmt.Errorf("--copy-target-command %s: not a JSON array of strings; write it as '[\"sh\",\"-c\",\"sleep 1d\"]' or as words split at spaces", s)
		}
		return argv, nil
	}
	return strings.Fields(s), nil
}

// validateCopy: the flags that shape a copy need --copy-target.
func validateCopy(c *run.Config) error {
	if c.Copy.Enabled {
		return nil
	}
	switch {
	case c.Copy.ScaleDown:
		return errors.New("--scale-down needs --copy-target: the original is scaled to 0 only while a copy serves in its place")
	case c.Copy.Command != nil:
		return errors.New("--copy-target-command needs --copy-target: the command of a running pod cannot be changed")
	case !c.Copy.Labels:
		return errors.New("--copy-target-labels=false needs --copy-target")
	}
	return nil
}
