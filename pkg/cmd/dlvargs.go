package cmd

import (
	"slices"
	"strconv"
	"strings"
)

// noProgram are Delve's subcommands that start no program of the user's:
// they need no session.
var noProgram = []string{"version", "help", "completion", "connect", "core"}

// runsNoProgram: dlv's arguments name a subcommand of noProgram (the first
// argument that is not a flag), or only ask for help or the version.
func runsNoProgram(args []string) bool {
	for _, a := range args {
		switch {
		case a == "-h" || a == "--help" || a == "--version":
			return true
		case !strings.HasPrefix(a, "-"):
			return slices.Contains(noProgram, a)
		}
	}
	return false
}

// logDestToStdout turns a --log-dest that names a file descriptor above 2
// into stdout: under the tracer the program has only 0, 1 and 2 (the
// launcher's pipe took fd 3 and is closed at exec), so Delve would write to
// a closed or reused descriptor. VS Code passes --log-dest=3 and waits there
// or on stdout for "DAP server listening at:". Arguments after "--" are the
// program's and stay as they are.
func logDestToStdout(args []string) []string {
	out := slices.Clone(args)
	for i := 0; i < len(out) && out[i] != "--"; i++ {
		switch v, ok := strings.CutPrefix(out[i], "--log-dest="); {
		case ok && isFD(v):
			out[i] = "--log-dest=1"
		case out[i] == "--log-dest" && i+1 < len(out) && isFD(out[i+1]):
			out[i+1] = "1"
		}
	}
	return out
}

func isFD(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 2
}
