package podfs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Environ returns the target process's environment as it was at its exec,
// which is what the program inside the container sees (envFrom, the downward
// API and service links included).
func (t Target) Environ() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(t.procRoot, strconv.Itoa(t.pid), "environ"))
	if err != nil {
		return nil, fmt.Errorf("read the target's environment: %w", err)
	}
	var env []string
	for _, kv := range bytes.Split(b, []byte{0}) {
		if len(kv) > 0 && bytes.IndexByte(kv, '=') > 0 {
			env = append(env, string(kv))
		}
	}
	return env, nil
}
