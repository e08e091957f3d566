package syscalllog

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteText writes one event as a line: `[pid 12 api] connect 10.0.0.1:80 = 0  remote`,
// or for an exec `[pid 12 go] exec /usr/local/go/bin/go: native`.
func WriteText(w io.Writer, ev Event) {
	who := fmt.Sprintf("pid %d", ev.PID)
	if ev.Process != "" {
		who += " " + ev.Process
	}
	switch {
	case ev.Syscall == "exec" && ev.Mode == "debuggee":
		fmt.Fprintf(w, "[%s] handed to its debugger: its calls are served by seccomp user notification\n", who)
		return
	case ev.Syscall == "exec":
		fmt.Fprintf(w, "[%s] exec %s: %s\n", who, ev.Path, ev.Mode)
		return
	}
	target := ev.Addr
	if ev.Path != "" {
		target = fmt.Sprintf("%q", ev.Path)
	}
	result := fmt.Sprint(ev.Result)
	if ev.Error != "" {
		result = "-1 " + ev.Error
	}
	where := "local"
	if ev.Remote {
		where = "remote"
	}
	fmt.Fprintf(w, "[%s] %s %s = %s  %s\n", who, ev.Syscall, target, result, where)
}

// WriteJSON writes one event as a JSON line.
func WriteJSON(w io.Writer, ev Event) {
	b, _ := json.Marshal(ev) // Event always marshals
	fmt.Fprintf(w, "%s\n", b)
}

// WriteSummary writes the closing summary in text.
func WriteSummary(w io.Writer, s Summary) {
	names := make([]string, 0, len(s.Calls))
	for n := range s.Calls {
		names = append(names, n)
	}
	slices.Sort(names)
	counts := make([]string, 0, len(names))
	for _, n := range names {
		counts = append(counts, fmt.Sprintf("%s %d", n, s.Calls[n]))
	}
	debugged := ""
	if n := s.Processes["debugger"]; n > 0 {
		debugged = fmt.Sprintf(", %d debuggers, %d debuggees", n, s.Processes["debuggee"])
	}
	fmt.Fprintf(w, "processes: %d intercepted, %s, %d native%s\n",
		s.Processes["intercepted"], count(s.Processes["launcher"], "launcher"), s.Processes["native"], debugged)
	fmt.Fprintf(w, "intercepted: %s\n", orNone(strings.Join(counts, ", ")))
	fmt.Fprintf(w, "would go remote: %s%s, %s, %s%s\n", count(len(s.RemoteAddrs), "destination"), list(s.RemoteAddrs),
		count(s.ListenCalls, "listen call"), count(len(s.RemotePaths), "file"), list(s.RemotePaths))
}

// count says n things, in the singular for one.
func count[N ~int | ~int64](n N, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

func list(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " (" + strings.Join(items, ", ") + ")"
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// WriteJSONSummary writes the summary and the program's end as one JSON line.
func WriteJSONSummary(w io.Writer, s Summary, exitCode int, status string) {
	b, _ := json.Marshal(struct {
		Summary
		ExitCode int    `json:"exitCode"`
		Status   string `json:"status"`
	}{s, exitCode, status})
	fmt.Fprintf(w, "%s\n", b)
}
