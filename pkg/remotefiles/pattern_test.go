package remotefiles

import (
	"strings"
	"testing"
)

// TestEmptyPatternIsRefused: an empty --fs-remote/--fs-local value is an
// error saying so, not "/" (every path) by accident; "/" and "/**" spelled
// out still mean the root.
func TestEmptyPatternIsRefused(t *testing.T) {
	if p, err := ParsePattern(""); err == nil || !strings.HasPrefix(err.Error(), "empty pattern") {
		t.Fatalf(`ParsePattern("") = %q, %v; want an "empty pattern" error`, p, err)
	}
	for _, root := range []string{"/", "/**"} {
		if p, err := ParsePattern(root); err != nil || p != "/" {
			t.Errorf("ParsePattern(%q) = %q, %v; want /", root, p, err)
		}
	}
}
