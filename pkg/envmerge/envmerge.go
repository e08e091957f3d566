// Package envmerge merges the target container's environment into the local
// program's: the pod's values win, except for variables that describe the
// developer's machine (PATH, HOME, the terminal, the Go toolchain...).
package envmerge

import (
	"path"
	"sort"
	"strings"
)

// Rules choose what of the remote environment is used.
type Rules struct {
	Include   []string          // glob patterns; empty: every remote variable
	Exclude   []string          // glob patterns, applied after Include
	Overrides map[string]string // --env KEY=VALUE, applied last
	None      bool              // import none of the remote variables (overrides still apply)
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

// Merge returns the program's environment: local with the remote variables
// laid over it as the rules allow, then the overrides.
func Merge(local, remote []string, r Rules) []string {
	keep := r.KeepLocal
	if keep == nil {
		keep = DefaultKeepLocal
	}
	env := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := env[k]; !ok {
			order = append(order, k)
		}
		env[k] = v
	}
	for _, kv := range local {
		if k, v, ok := strings.Cut(kv, "="); ok {
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
		if r.None || matchAny(keep, k) || (len(r.Include) > 0 && !matchAny(r.Include, k)) || matchAny(r.Exclude, k) {
			continue
		}
		set(k, remoteVals[k])
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

func matchAny(patterns []string, key string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, key); ok {
			return true
		}
	}
	return false
}
