// Package calc is what the tracer bench runs `go test` on: a package with a
// few tests, as a developer's edit-test loop has.
package calc

import "strings"

// Words counts the words of s.
func Words(s string) int { return len(strings.Fields(s)) }

// Reverse returns s reversed by runes.
func Reverse(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
