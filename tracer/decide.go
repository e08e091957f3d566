package tracer

import "sync"

// decider asks the Handler about calls for both engines, one call at a
// time: handlers are written for one caller. Under the ptrace engine it is
// asked on the tracer's thread; under the notification engine on the
// goroutine serving a listener, or one answering a call that may block.
//
// With decodeCall it is all the engines share: each reads a call with
// decodeCall, sets Call.stop to where the call waits in it (its callStop),
// asks here, and carries out the verdict itself. That is the seam where
// the calls of one process could be routed to either engine.
type decider struct {
	mu       sync.Mutex
	handler  Handler
	hostname string // Config.Hostname: uname's node name
	domain   string // Config.Domainname
}

func newDecider(cfg Config) *decider {
	d := &decider{handler: cfg.Handler, hostname: cfg.Hostname, domain: cfg.Domainname}
	if d.handler == nil {
		d.handler = allowAll{}
	}
	return d
}

type allowAll struct{}

func (allowAll) Socket(*Call) Verdict { return Allow() }
func (allowAll) Path(*Call) Verdict   { return Allow() }

// decidable: a path call without a path is about an fd and runs
// unchanged, except fstat, fstatfs and a stat with AT_EMPTY_PATH, whose
// Call.Path is the file their fd names.
func (c *Call) decidable() bool {
	return c.Class != ClassPath || c.RawPath != "" || c.sys().fdPath() || c.Path != ""
}

// ask gets the Handler's verdict on c; the tracer answers uname itself
// (identity.go).
func (d *decider) ask(c *Call) Verdict {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch c.Class {
	case ClassSocket:
		return d.handler.Socket(c)
	case ClassIdentity:
		return d.identity(c)
	}
	return d.handler.Path(c)
}

// runAtExit runs a verdict's exit work on the call's result and returns the
// result the program gets.
func (d *decider) runAtExit(c *Call, f func(*Exit), ret int64) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := &Exit{Call: c, Result: ret}
	f(e)
	return e.Result
}
