package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
)

// Typed flag values: each parses its flag once, when pflag sets it, straight
// into the library's config, so a bad value is one line naming the flag and
// the fix, and adding a flag is its binding plus its use. An empty value's
// String is "", so help shows no "(default map[])" for it.

// choiceValue is one of a fixed set of words.
type choiceValue[T ~string] struct {
	p       *T
	choices []T
}

func (v choiceValue[T]) String() string { return string(*v.p) }
func (v choiceValue[T]) Type() string   { return "string" }
func (v choiceValue[T]) Set(s string) error {
	if !slices.Contains(v.choices, T(s)) {
		words := make([]string, len(v.choices))
		for i, c := range v.choices {
			words[i] = string(c)
		}
		return fmt.Errorf("use %s", strings.Join(words, ", "))
	}
	*v.p = T(s)
	return nil
}

// sprintNonEmpty prints a value of n items, and nothing when n is 0.
func sprintNonEmpty(n int, v ...any) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(v...)
}

// portMapValue reads LOCAL:REMOTE port pairs.
type portMapValue map[int]int

func (v portMapValue) String() string { return sprintNonEmpty(len(v), map[int]int(v)) }
func (v portMapValue) Type() string   { return "LOCAL:REMOTE" }
func (v portMapValue) Set(s string) error {
	l, r, ok := strings.Cut(s, ":")
	lp, lerr := strconv.Atoi(l)
	rp, rerr := strconv.Atoi(r)
	if !ok || lerr != nil || rerr != nil || lp < 1 || lp > 65535 || rp < 1 || rp > 65535 {
		return fmt.Errorf("use LOCAL:REMOTE, such as 3000:8080")
	}
	v[lp] = rp
	return nil
}

// envValue reads KEY=VALUE overrides.
type envValue map[string]string

func (v envValue) String() string { return sprintNonEmpty(len(v), map[string]string(v)) }
func (v envValue) Type() string   { return "KEY=VALUE" }
func (v envValue) Set(s string) error {
	k, val, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("use KEY=VALUE")
	}
	v[k] = val
	return nil
}

// filterValue reads 'header:NAME: REGEXP', 'path:REGEXP' or 'method:REGEXP'.
type filterValue struct{ p *[]protocol.HTTPFilter }

func (v filterValue) String() string { return sprintNonEmpty(len(*v.p), *v.p) }
func (v filterValue) Type() string   { return "FILTER" }
func (v filterValue) Set(s string) error {
	kind, rest, _ := strings.Cut(s, ":")
	var f protocol.HTTPFilter
	switch kind {
	case protocol.FilterPath, protocol.FilterMethod:
		f = protocol.HTTPFilter{Kind: kind, Pattern: rest}
	case protocol.FilterHeader:
		name, pattern, ok := strings.Cut(rest, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("use 'header:NAME: REGEXP'")
		}
		f = protocol.HTTPFilter{Kind: protocol.FilterHeader, Name: strings.TrimSpace(name), Pattern: strings.TrimSpace(pattern)}
	default:
		return fmt.Errorf("use 'header:NAME: REGEXP', 'path:REGEXP' or 'method:REGEXP'")
	}
	if _, err := f.Compile(); err != nil {
		return err
	}
	*v.p = append(*v.p, f)
	return nil
}

// ruleValue reads --local/--remote: address rules at once, host rules for a
// resolver later. name is the flag's, for the resolver's errors.
type ruleValue struct {
	name  string
	rules *[]outgoing.Rule
	hosts *[]outgoing.HostRule
}

func (v ruleValue) String() string {
	return sprintNonEmpty(len(*v.rules)+len(*v.hosts), *v.rules, *v.hosts)
}
func (v ruleValue) Type() string { return "DEST" }
func (v ruleValue) Set(s string) error {
	return v.setFrom(s, fmt.Sprintf("--%s %q", v.name, s))
}

// setFrom is Set for a value given in from: a host that fails to resolve,
// once the session is up, is reported as from.
func (v ruleValue) setFrom(s, from string) error {
	r, host, err := outgoing.ParseRule(s)
	if err != nil {
		return err
	}
	if host != "" {
		*v.hosts = append(*v.hosts, outgoing.HostRule{Host: host, Port: r.Port, From: from})
		return nil
	}
	*v.rules = append(*v.rules, r)
	return nil
}

// pathValue reads absolute paths, a directory meaning all under it.
type pathValue struct{ p *[]string }

func (v pathValue) String() string { return strings.Join(*v.p, ",") }
func (v pathValue) Type() string   { return "PATH" }
func (v pathValue) Set(s string) error {
	p, err := remotefiles.ParsePattern(s)
	if err != nil {
		return err
	}
	*v.p = append(*v.p, p)
	return nil
}

// fsMapValue reads REMOTE=LOCAL[:rw]: a pod path and a file or directory
// here, read-only unless :rw.
type fsMapValue map[string]remotefiles.Mapping

func (v fsMapValue) String() string {
	var out []string
	for r, m := range v {
		s := r + "=" + m.Local
		if m.Write {
			s += ":rw"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
func (v fsMapValue) Type() string { return "REMOTE=LOCAL[:rw]" }
func (v fsMapValue) Set(s string) error {
	remote, local, ok := strings.Cut(s, "=")
	if !ok || local == "" {
		return fmt.Errorf("use REMOTE=LOCAL or REMOTE=LOCAL:rw, e.g. /app/config=./config")
	}
	r, err := remotefiles.ParsePattern(remote)
	if err != nil {
		return err
	}
	m := remotefiles.Mapping{}
	if rest, ok := strings.CutSuffix(local, ":rw"); ok {
		local, m.Write = rest, true
	} else if rest, ok := strings.CutSuffix(local, ":ro"); ok {
		local = rest
	}
	l, err := filepath.Abs(local)
	if err == nil {
		_, err = os.Stat(l)
	}
	if err != nil {
		return fmt.Errorf("%s must exist on this machine", local)
	}
	m.Local = l
	v[r] = m
	return nil
}

// processNameValue reads a program's name: a file name, not a path.
type processNameValue struct{ p *[]string }

func (v processNameValue) String() string { return strings.Join(*v.p, ",") }
func (v processNameValue) Type() string   { return "NAME" }
func (v processNameValue) Set(s string) error {
	if s == "" || strings.Contains(s, "/") {
		return fmt.Errorf("name the program by its file name, such as %q, not a path", filepath.Base(s))
	}
	*v.p = append(*v.p, s)
	return nil
}
