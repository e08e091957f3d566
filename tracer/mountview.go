package tracer

import (
	"io"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// MountView asks for the program's file view to be made by its namespaces
// instead of by stops: the launcher enters a mount and a UTS namespace of
// its own, gives them the pod's names and bind-mounts each Bind there,
// and the program's filters then leave out every path and identity call.
// When the launcher cannot (no CAP_SYS_ADMIN, a container's policy), the
// program runs in this machine's namespaces with every call stopped as
// usual, unless Required.
type MountView struct {
	Hostname, Domainname string // "" keeps this machine's
	// Stage is an empty directory the launcher mounts its scratch on (in
	// its own namespace; nothing of it shows outside).
	Stage  string
	Grafts []Graft // in order: made before any bind
	Binds  []Bind  // in order: a bind inside another comes after it
	// Required: failing to make the view ends the run (--fs-view mount).
	Required bool
}

// Graft makes paths that do not exist under Dir appear there, without
// touching Dir: a read-only tmpfs holding a bind of each of Dir's entries
// and the Make paths takes its place ("/" through pivot_root).
type Graft struct {
	Dir   string   // an existing directory, its real path
	Make  []string // paths relative to Dir, made as directories
	Files []string // paths relative to Dir, made as empty files
}

// Bind mounts Src at Dst, read-only unless Write.
type Bind struct {
	Src, Dst string
	Write    bool
}

// maxPlan is what the launcher's pipe holds before it reads: the plan is
// written before the go-ahead, in one go.
const maxPlan = 60 << 10

// encode is the plan as the launcher reads it (internal/launcher's
// mountview.go); nil for no view.
func (v *MountView) encode() []byte {
	if v == nil {
		return nil
	}
	var b []byte
	field := func(s string) { b = append(append(b, s...), 0) }
	if v.Required {
		b = append(b, 'f')
	}
	b = append(b, 'h')
	field(v.Hostname)
	field(v.Domainname)
	b = append(b, 's')
	field(v.Stage)
	for _, g := range v.Grafts {
		b = append(b, 'g')
		field(g.Dir)
		field(strconv.Itoa(len(g.Make)))
		for _, m := range g.Make {
			field(m)
		}
		field(strconv.Itoa(len(g.Files)))
		for _, f := range g.Files {
			field(f)
		}
	}
	for _, m := range v.Binds {
		mode := "ro"
		if m.Write {
			mode = "rw"
		}
		b = append(b, 'b')
		field(m.Src)
		field(m.Dst)
		field(mode)
	}
	if len(b) > maxPlan {
		// Too many mounts to hand over: stops serve the files instead.
		return nil
	}
	return b
}

// readViewReport reads the launcher's answer to the plan at the program's
// exec: with "ok" every process gets the mount view's filters from now on.
// Precondition: on the tracer's thread, before the program's first filter.
func (e *ptraceEngine) readViewReport() {
	b, _ := io.ReadAll(e.viewReport)
	_ = e.viewReport.Close()
	e.viewReport = nil
	if report := string(b); report == "ok" {
		e.filters = mountFilters()
		e.stats.MountView = true
		var err error
		if e.views, err = openViews(e.rootPID); err != nil {
			e.log.Warn("native programs will see the mount view: its namespaces cannot be kept", zap.Error(err))
		}
		e.log.Info("files: the program's own mount namespace serves the pod's paths; no file call stops")
	} else {
		e.stats.MountViewRefused = strings.TrimSpace(report)
		e.log.Info("files: every file call stops; the mount view could not be made", zap.String("why", e.stats.MountViewRefused))
	}
}
