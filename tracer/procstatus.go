package tracer

import (
	"os"
	"strings"
)

// statusField is field key of /proc/<dir>/status ("Tgid", "Umask",
// "SigBlk", ...), as the kernel writes it; false when the file cannot be
// read or lacks the field. dir is a pid, or pid/task/tid for one thread.
func statusField(dir, key string) (string, bool) {
	fields, ok := statusFields(dir, key)
	return fields[0], ok
}

// statusFields reads several fields of one status file at once (one
// snapshot); false unless all are there.
func statusFields(dir string, keys ...string) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + dir + "/status")
	out := make([]string, len(keys))
	if err != nil {
		return out, false
	}
	for i, key := range keys {
		_, rest, ok := strings.Cut(string(b), "\n"+key+":\t")
		if !ok {
			return out, false
		}
		out[i], _, _ = strings.Cut(rest, "\n")
	}
	return out, true
}
