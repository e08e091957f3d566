package remotefiles

import (
	"os"
	"os/exec"
	"path/filepath"
)

// OwnPlaces are the program's own places, which stay local whatever the
// rules say: the working directory and the program's own directory (with
// everything under them), and every ancestor of the working directory up
// to / (those directories themselves, not what else they hold), so a shell
// or a version manager's shim can cd into where it was started, and a
// runtime that resolves each component from / finds them. The user can
// still read one from the pod by naming it exactly with --fs-remote.
type OwnPlaces struct {
	Trees     []string // local with everything under them
	Ancestors []string // local themselves
}

// OwnPlacesOf is the places of a run of program from this process's
// working directory.
func OwnPlacesOf(program string) OwnPlaces {
	var o OwnPlaces
	if wd, err := os.Getwd(); err == nil && filepath.IsAbs(wd) {
		wd = filepath.Clean(wd)
		if wd != "/" {
			o.Trees = append(o.Trees, wd)
		}
		for d := filepath.Dir(wd); d != "/" && d != wd; d = filepath.Dir(d) {
			o.Ancestors = append(o.Ancestors, d)
		}
	}
	if path, err := exec.LookPath(program); err == nil {
		if abs, err := filepath.Abs(path); err == nil && filepath.Dir(abs) != "/" {
			o.Trees = append(o.Trees, filepath.Dir(abs))
		}
	}
	return o
}

// Except drops the places named exactly among remote (the user asked for
// them from the pod) and returns them. It also drops, silently, a tree that
// holds one of roots deeper down (the working directory /etc holds the
// pod's /etc/resolv.conf): the tree is not hidden by that root, only the
// root's own path is, and that stays the pod's.
func (o OwnPlaces) Except(remote, roots []string) (OwnPlaces, []string) {
	named := map[string]bool{}
	for _, r := range remote {
		named[filepath.Clean(r)] = true
	}
	var trees []string
	for _, t := range o.Trees {
		holds := false
		for _, r := range roots {
			r = filepath.Clean(r)
			holds = holds || (r != t && under(r, t))
		}
		if !holds {
			trees = append(trees, t)
		}
	}
	o.Trees = trees
	var out OwnPlaces
	var dropped []string
	keep := func(list []string, into *[]string) {
		for _, p := range list {
			if named[p] {
				dropped = append(dropped, p)
				continue
			}
			*into = append(*into, p)
		}
	}
	keep(o.Trees, &out.Trees)
	keep(o.Ancestors, &out.Ancestors)
	return out, dropped
}
