package protocol

import (
	"fmt"
	"net/http"
	"regexp"
)

// HTTP filter kinds.
const (
	FilterHeader = "header"
	FilterPath   = "path"
	FilterMethod = "method"
)

// RequestFilter is a compiled HTTPFilter.
type RequestFilter struct {
	kind, name string
	re         *regexp.Regexp
}

// Compile checks f and makes it ready to match: the plugin compiles it to
// refuse a bad flag before anything starts, the agent to route requests.
func (f HTTPFilter) Compile() (RequestFilter, error) {
	switch f.Kind {
	case FilterHeader, FilterPath, FilterMethod:
	default:
		return RequestFilter{}, fmt.Errorf("http filter kind %q: use header, path or method", f.Kind)
	}
	re, err := regexp.Compile(f.Pattern)
	if err != nil {
		return RequestFilter{}, fmt.Errorf("http filter %q: %w", f.Pattern, err)
	}
	return RequestFilter{kind: f.Kind, name: f.Name, re: re}, nil
}

// Matches: the request's header, path or method matches. HTTP/2 requests
// (gRPC calls) are requests too: metadata are headers, the method the path.
func (f RequestFilter) Matches(r *http.Request) bool {
	v := r.URL.Path
	switch f.kind {
	case FilterHeader:
		v = r.Header.Get(f.name)
	case FilterMethod:
		v = r.Method
	}
	return f.re.MatchString(v)
}

// CompileFilters compiles each filter; all must match a request.
func CompileFilters(fs []HTTPFilter) ([]RequestFilter, error) {
	out := make([]RequestFilter, 0, len(fs))
	for _, f := range fs {
		c, err := f.Compile()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// MatchAll: every filter matches r (no filters: any request).
func MatchAll(fs []RequestFilter, r *http.Request) bool {
	for _, f := range fs {
		if !f.Matches(r) {
			return false
		}
	}
	return true
}
