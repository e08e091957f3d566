// Package envmerge merges the target container's environment into the local
// program's: the pod's values win, except for variables that describe the
// developer's machine (PATH, HOME, the terminal, the Go toolchain...).
package envmerge

import (
	"path"
	"slices"
	"sort"
	"strings"
)

// Rules choose what of the remote environment is used.
type Rules struct {
	// Include: glob patterns; empty: every remote variable. A variable that
	// stays local (KeepLocal) is taken from the pod only when named here
	// exactly: a glob such as * must not swap this machine's PATH for the
	// pod's behind the user's back.
	Include []string
	Exclude []string // glob patterns, applied after Include
	// Unset: glob patterns of variables removed from both sides, the pod's
	// and this machine's; Load and Overrides may still set them.
	Unset []string
	// Load: KEY=VALUE pairs from dotenv files, in order, laid over the pod's
	// values and under Overrides.
	Load      []string
	Overrides map[string]string // --env KEY=VALUE, applied last
	None      bool              // import none of the remote variables (Load and overrides still apply)
	// KeepLocal overrides the built-in list of variables that stay local;
	// nil means DefaultKeepLocal.
	KeepLocal []string
}

// DefaultKeepLocal are variables about the machine the program runs on.
var DefaultKeepLocal = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "TMPDIR",
	"TERM", "COLORTERM", "LANG", "LANGUAGE", "LC_*", "DISPLAY", "WAYLAND_DISPLAY", "XDG_*", "SSH_*",
	"GOPATH", "GOROOT", "GOCACHE", "GOMODCACHE", "GOENV", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "GOBIN", "GOPRIVATE",
	"KUBECONFIG", "EDITOR", "PAGER",
}

// Merge returns the program's environment, each layer over the one before:
// local, the remote variables the rules allow, the loaded pairs, then the
// overrides. Unset variables are dropped from local and remote.
func Merge(local, remote []string, r Rules) []string {
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range local {
		if k, v, ok := strings.Cut(kv, "="); ok && !matchAny(r.Unset, k) {
			set(k, v)
		}
	}
	var remoteKeys []string
	remoteVals := map[string]string{}
	for _, kv := range remote {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			remoteKeys = append(remoteKeys, k)
			remoteVals[k] = v
		}
	}
	sort.Strings(remoteKeys)
	for _, k := range remoteKeys {
		if r.takes(k) {
			set(k, remoteVals[k])
		}
	}
	for _, kv := range r.Load {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			set(k, v)
		}
	}
	overrideKeys := make([]string, 0, len(r.Overrides))
	for k := range r.Overrides {
		overrideKeys = append(overrideKeys, k)
	}
	sort.Strings(overrideKeys)
	for _, k := range overrideKeys {
		set(k, r.Overrides[k])
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+env[k])
	}
	return out
}

// takes says whether the pod's variable k goes into the program's
// environment.
func (r Rules) takes(k string) bool {
	if r.None || matchAny(r.Exclude, k) || matchAny(r.Unset, k) {
		return false
	}
	keep := r.KeepLocal
	if keep == nil {
		keep = DefaultKeepLocal
	}
	if matchAny(keep, k) {
		return slices.Contains(r.Include, k)
	}
	return len(r.Include) == 0 || matchAny(r.Include, k)
}

func matchAny(patterns []string, key string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, key); ok {
			return true
		}
	}
	return false
}
