package tracer

import (
	"fmt"
	"sync"
)

// Engine is how the calls of an intercepted program are served.
type Engine int

const (
	// EngineHybrid, the default: ptrace follows every process (fork,
	// clone, exec and the Policy each exec decides, a debugger's
	// hand-off) and stops at chdir and the calls that change the file
	// system; every other intercepted call of a filtered program waits on
	// a seccomp user notification instead of a ptrace stop, and is decided
	// by the same Handler (hybrid.go). Where the kernel cannot serve a
	// process that way, that process runs under EnginePtrace.
	EngineHybrid Engine = iota
	// EnginePtrace: every intercepted call stops its thread under ptrace.
	EnginePtrace
)

func (e Engine) String() string {
	switch e {
	case EngineHybrid:
		return "hybrid"
	case EnginePtrace:
		return "ptrace"
	}
	return fmt.Sprintf("engine%d", int(e))
}

// ParseEngine reads an engine's name: "hybrid" or "ptrace" ("" is the
// default, hybrid).
func ParseEngine(s string) (Engine, error) {
	switch s {
	case "", "hybrid":
		return EngineHybrid, nil
	case "ptrace":
		return EnginePtrace, nil
	}
	return 0, fmt.Errorf("unknown tracer engine %q: want hybrid or ptrace", s)
}

// hybridSupport says whether this system can run the hybrid engine: what
// the notification engine needs (NotifySupport), asked of the kernel once.
// Tests replace it to force the fallback to ptrace.
var hybridSupport = sync.OnceValue(func() error {
	if err := NotifySupport(); err != nil {
		return err
	}
	for _, f := range notifyFeatures() {
		if err := f.try(); err != nil {
			return fmt.Errorf("%s is refused: %w", f.what, err)
		}
	}
	return nil
})
