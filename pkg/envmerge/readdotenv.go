package envmerge

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxDotenvSize bounds a dotenv file: one is a few KiB, and a huge one (a
// wrong path, a device) would otherwise cost memory before its error.
const MaxDotenvSize = 1 << 20

// ReadDotenv reads a dotenv file into KEY=VALUE pairs, in the file's order.
// It reads through a limit rather than trusting a stat: the file may be a
// pipe or grow between the two.
func ReadDotenv(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxDotenvSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > MaxDotenvSize {
		return nil, fmt.Errorf("%s: larger than 1 MiB, the limit for a dotenv file", path)
	}
	return ParseDotenv(path, string(b))
}

// ParseDotenv reads what Dotenv writes, and the common hand-written forms:
// KEY=value (unquoted: trimmed, a " #" starts a comment), KEY='value'
// (literal), KEY="value" (escapes \\ \" \$ \n), blank lines, # comments and
// a leading "export ". Nothing is expanded: a $ is a $. A malformed line is
// an error naming name and the line.
func ParseDotenv(name, text string) ([]string, error) {
	var out []string
	for i, line := range strings.Split(text, "\n") {
		kv, err := parseLine(strings.TrimSuffix(line, "\r"))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
		if kv != "" {
			out = append(out, kv)
		}
	}
	return out, nil
}

// parseLine returns KEY=VALUE, or "" for a blank or comment line.
func parseLine(line string) (string, error) {
	s := strings.TrimLeft(line, " \t")
	if s == "" || s[0] == '#' {
		return "", nil
	}
	if rest, ok := strings.CutPrefix(s, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		s = strings.TrimLeft(rest, " \t")
	}
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return "", fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	if !validName(k) {
		return "", fmt.Errorf("%q is not a variable name (letters, digits, _ . and -, not starting with a digit)", k)
	}
	val, err := parseValue(strings.TrimLeft(v, " \t"))
	if err != nil {
		return "", fmt.Errorf("%s: %w", k, err)
	}
	return k + "=" + val, nil
}

func parseValue(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch v[0] {
	case '\'':
		end := strings.IndexByte(v[1:], '\'')
		if end < 0 {
			return "", errors.New("no closing single quote")
		}
		return v[1 : 1+end], afterQuote(v[2+end:])
	case '"':
		return doubleQuoted(v[1:])
	}
	// Unquoted: up to a comment (a # after a space; a#b is a value).
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	return strings.TrimRight(v, " \t"), nil
}

var errNoClosingDouble = errors.New("no closing double quote")

// doubleQuoted reads the rest of a value after its opening ".
func doubleQuoted(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), afterQuote(s[i+1:])
		case '\\':
			if i+1 == len(s) {
				return "", errNoClosingDouble
			}
			i++
			switch s[i] {
			case '\\', '"', '$':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			default:
				return "", fmt.Errorf(`unknown escape \%c in double quotes (use \\ \" \$ or \n, or single quotes for a literal value)`, s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errNoClosingDouble
}

// afterQuote checks what follows a closing quote: spaces, a comment.
func afterQuote(rest string) error {
	rest = strings.TrimLeft(rest, " \t")
	if rest != "" && rest[0] != '#' {
		return fmt.Errorf("unexpected %q after the closing quote", rest)
	}
	return nil
}

// validName: the classic Kubernetes rule for a container's variable names,
// [-._a-zA-Z][-._a-zA-Z0-9]*, so a file Dotenv wrote from a pod reads back.
func validName(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, c := range []byte(k) {
		ok := c == '_' || c == '.' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}
