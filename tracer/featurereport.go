package tracer

// FeatureCheck is one thing the tracer needs from this machine, tried.
type FeatureCheck struct {
	What     string // what it is
	MinLinux string // the kernel that has it
	Err      error  // nil: it works here
	// DebuggerOnly: only a program handed to a debugger needs it.
	DebuggerOnly bool
}

// Features tries each thing the tracer needs (with debugger also what the
// engine a debugger's program is handed to needs), for `doctor` to report one
// by one; CheckFeatures stops at the first refusal instead.
func Features(debugger bool) []FeatureCheck {
	var out []FeatureCheck
	base := len(features(false))
	for i, f := range features(debugger) {
		out = append(out, FeatureCheck{What: f.what, MinLinux: f.minLinux, Err: f.try(), DebuggerOnly: i >= base})
	}
	return out
}

// Fix says how to get a refused feature.
func (f FeatureCheck) Fix() string {
	return "it needs Linux " + f.MinLinux + " or newer; " + containerFix
}
