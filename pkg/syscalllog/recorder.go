// Package syscalllog records what a traced program does with the syscalls
// kubectl mirror intercepts, and says which of them a session would send to
// the pod, by the session's own rules: the engine of `kubectl mirror trace`.
package syscalllog

import (
	"maps"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/tracer"
)

// Event is one intercepted syscall and how it returned, or (Syscall
// "exec") a process that ran a program and how that program runs.
type Event struct {
	PID     int    `json:"pid"`
	Process string `json:"process,omitempty"` // the program the process runs, when its exec was seen
	Syscall string `json:"syscall"`
	// Mode of an exec: intercepted, launcher (a shell: its own calls are
	// seen, each child decides at its exec), native (a build tool),
	// debugger, or debuggee (a debugger's child, handed over to it).
	Mode   string `json:"mode,omitempty"`
	Addr   string `json:"addr,omitempty"`
	Path   string `json:"path,omitempty"`
	Result int64  `json:"result"`
	Error  string `json:"error,omitempty"`
	// Remote: a session would send this to the pod (an outgoing connection or
	// datagram, a listening port served from the pod, or a remote file).
	Remote bool `json:"remote"`
}

// Recorder is a tracer.Handler that lets every call through and reports each
// one with its result to Sink, from the goroutine the tracer runs the call's
// exit work on (see tracer.Handler), and each exec from the tracer's thread
// (Exec): Sink may be called from more than one goroutine, though never for
// two calls at once.
type Recorder struct {
	Sink func(Event)
	// RemoteAddr and RemotePath are the session's own rules (outgoing.Rules,
	// remotefiles.Matcher), so trace says what run would do.
	RemoteAddr func(netip.AddrPort) bool
	RemotePath func(string) bool

	mu      sync.Mutex
	summary Summary
	names   map[int]string // pid -> the program it exec'd
}

// Exec records a process's exec (tracer.Config.OnExec).
func (r *Recorder) Exec(e tracer.Exec) {
	ev := Event{PID: e.PID, Process: e.Name, Syscall: "exec", Path: e.Path, Mode: e.Mode.String()}
	r.mu.Lock()
	if r.names == nil {
		r.names = map[int]string{}
	}
	r.names[e.PID] = e.Name
	r.summary.add(ev, 0)
	r.mu.Unlock()
	if r.Sink != nil {
		r.Sink(ev)
	}
}

var _ tracer.Handler = (*Recorder)(nil)

// Socket records socket calls that carry an address, and listen.
func (r *Recorder) Socket(c *tracer.Call) tracer.Verdict {
	switch {
	case c.HasAddr:
		return tracer.Allow().AtExit(func(e *tracer.Exit) {
			remote := c.Syscall != tracer.SysBind && r.RemoteAddr(c.Addr)
			r.record(e, Event{Addr: c.Addr.String(), Remote: remote})
		})
	case c.Syscall == tracer.SysListen:
		return tracer.Allow().AtExit(func(e *tracer.Exit) { r.record(e, Event{Remote: true}) })
	}
	return tracer.Allow() // getpeername, recvfrom, recvmsg: results only, nothing a session would send
}

// Path records path calls.
func (r *Recorder) Path(c *tracer.Call) tracer.Verdict {
	if c.RawPath == "" && c.Syscall.IsStat() {
		return tracer.Allow() // a stat of an fd already open: nothing a session would fetch
	}
	path := c.Path
	if path == "" {
		path = c.RawPath
	}
	return tracer.Allow().AtExit(func(e *tracer.Exit) {
		r.record(e, Event{Path: path, Remote: r.RemotePath(c.Path)})
	})
}

func (r *Recorder) record(e *tracer.Exit, ev Event) {
	ev.PID, ev.Syscall, ev.Result = e.Call.PID, e.Call.Syscall.String(), e.Result
	if e.Result < 0 && e.Result > -4096 {
		ev.Error = unix.ErrnoName(unix.Errno(-e.Result))
	}
	r.mu.Lock()
	ev.Process = r.names[ev.PID]
	r.summary.add(ev, e.Call.Syscall)
	r.mu.Unlock()
	if r.Sink != nil {
		r.Sink(ev)
	}
}

// Summary returns the totals so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.summary.clone()
}

// Summary totals a trace.
type Summary struct {
	Calls       map[string]int `json:"calls"`
	RemoteAddrs []string       `json:"remoteAddrs"`
	RemotePaths []string       `json:"remotePaths"`
	ListenCalls int            `json:"listenCalls"`
	// Processes counts the programs exec'd by how they ran.
	Processes map[string]int `json:"processes"`
	seenAddr  map[string]bool
	seenPath  map[string]bool
}

// add counts ev, the exec of a program (sys 0) or an intercepted call.
func (s *Summary) add(ev Event, sys tracer.Sysno) {
	if s.Calls == nil {
		s.Calls, s.Processes, s.seenAddr, s.seenPath = map[string]int{}, map[string]int{}, map[string]bool{}, map[string]bool{}
	}
	if sys == 0 {
		s.Processes[ev.Mode]++
		return
	}
	s.Calls[ev.Syscall]++
	switch {
	case sys == tracer.SysListen:
		s.ListenCalls++
	case ev.Remote && ev.Addr != "" && !s.seenAddr[ev.Addr]:
		s.seenAddr[ev.Addr] = true
		s.RemoteAddrs = append(s.RemoteAddrs, ev.Addr)
	case ev.Remote && ev.Path != "" && !s.seenPath[ev.Path]:
		s.seenPath[ev.Path] = true
		s.RemotePaths = append(s.RemotePaths, ev.Path)
	}
}

func (s Summary) clone() Summary {
	c := Summary{Calls: maps.Clone(s.Calls), Processes: maps.Clone(s.Processes), ListenCalls: s.ListenCalls}
	if c.Calls == nil {
		c.Calls, c.Processes = map[string]int{}, map[string]int{}
	}
	c.RemoteAddrs = append(c.RemoteAddrs, s.RemoteAddrs...)
	c.RemotePaths = append(c.RemotePaths, s.RemotePaths...)
	return c
}
