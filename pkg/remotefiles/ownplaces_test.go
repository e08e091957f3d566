package remotefiles

import (
	"slices"
	"testing"
)

// The working directory and the program's directory stay local under a
// remote root, and so do the working directory's ancestors (themselves
// only); naming one exactly with --fs-remote reads it from the pod; a tree
// that holds a root deeper down is not kept local, so that root stays the
// pod's.
func TestOwnPlacesStayLocalUnlessNamedExactly(t *testing.T) {
	own := OwnPlaces{Trees: []string{"/tmp/src/app", "/home/dev/.pyenv/shims"}, Ancestors: []string{"/tmp/src", "/tmp"}}
	got, named := own.Except([]string{"/tmp"}, []string{"/tmp", "/etc/resolv.conf"})
	if !slices.Equal(named, []string{"/tmp"}) || !slices.Equal(got.Ancestors, []string{"/tmp/src"}) || len(got.Trees) != 2 {
		t.Fatalf("got %+v, named %v", got, named)
	}
	m := Matcher{Roots: []string{"/tmp", "/etc/resolv.conf"}, Local: got.Trees, LocalExact: got.Ancestors}
	for p, remote := range map[string]bool{
		"/tmp":                        true,  // named exactly: the pod's
		"/tmp/other":                  true,  // the rest of the pod's /tmp
		"/tmp/src":                    false, // an ancestor: this machine's
		"/tmp/src/lib":                true,  // but not what else it holds
		"/tmp/src/app":                false, // the working directory
		"/tmp/src/app/main.py":        false,
		"/home/dev/.pyenv/shims/node": false,
		"/etc/resolv.conf":            true,
	} {
		if m.Remote(p) != remote {
			t.Errorf("%s: remote %v, want %v", p, !remote, remote)
		}
	}
	// Run from /etc: /etc/resolv.conf is the pod's still.
	etc, _ := OwnPlaces{Trees: []string{"/etc"}}.Except(nil, []string{"/etc/resolv.conf"})
	if len(etc.Trees) != 0 {
		t.Fatalf("a working directory holding a root was kept local: %v", etc.Trees)
	}
}
