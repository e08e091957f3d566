package remotefiles

import "slices"

// Matcher says, by the session's rules alone, which paths a session reads
// from the pod: `run` decides with it (Cache.isRemote) and `trace` reports
// with it, so the two never disagree.
type Matcher struct {
	Roots []string // read whole at the start (defaults, mounts, --fs-remote)
	Local []string // --fs-local: stay local, even under a root
	// LocalExact: local themselves, not what they hold (OwnPlaces.Ancestors).
	LocalExact []string
	// All: --fs-mode all; everything outside AllLocal is the pod's.
	All      bool
	AllLocal []string
}

// NewMatcher is the matcher of the file flags: mode remote, local or all;
// program is the command run (its directory stays local in mode all).
// Mount roots need a pod spec; the caller adds them when it has one.
func NewMatcher(mode string, remote, local []string, program string) Matcher {
	m := Matcher{Roots: append([]string{}, remote...), Local: local}
	if mode != "local" {
		m.Roots = append(m.Roots, DefaultRoots...)
	}
	own, _ := OwnPlacesOf(program).Except(remote, m.Roots)
	m.Local, m.LocalExact = append(append([]string{}, local...), own.Trees...), own.Ancestors
	if mode == "all" {
		m.All, m.AllLocal = true, append(append([]string{}, DefaultLocal...), SessionLocal(program)...)
	}
	return m
}

// Remote reports whether p (absolute, clean) is read from the pod.
func (m Matcher) Remote(p string) bool {
	if p == "" || underAny(p, m.Local) || slices.Contains(m.LocalExact, p) {
		return false
	}
	if underAny(p, m.Roots) {
		return true
	}
	return m.All && !underAny(p, m.AllLocal)
}

func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if under(p, d) {
			return true
		}
	}
	return false
}
