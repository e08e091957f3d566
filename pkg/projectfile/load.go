package projectfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Loaded is a project file read and checked: its settings, and the line of
// each key, by dotted path ("incoming.mode"), for messages about values.
type Loaded struct {
	Path  string
	File  File
	Lines map[string]int
}

// Find looks for the project file in dir and its parents up to the
// repository root (the directory holding .git); outside a repository only
// dir is looked in. ok is false when there is none.
func Find(dir string) (path string, ok bool) {
	inRepo := false
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			inRepo = true
			break
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, Name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil || !inRepo || filepath.Dir(d) == d {
			return "", false
		}
	}
}

// Load reads and checks a project file: unknown keys and values of the
// wrong type are errors naming the file, the line and the key.
func Load(path string) (*Loaded, error) {
	b, err := read(path)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Path: path, Lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 || len(bytes.TrimSpace(b)) == 0 {
		return l, nil // an empty file sets nothing
	}
	root := doc.Content[0]
	if err := l.check(root, reflect.TypeOf(File{}), ""); err != nil {
		return nil, err
	}
	if err := root.Decode(&l.File); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			// "line 3: cannot unmarshal ...": say it as file:line.
			var line int
			var rest string
			if n, _ := fmt.Sscanf(te.Errors[0], "line %d:", &line); n == 1 {
				_, rest, _ = strings.Cut(te.Errors[0], ": ")
				return nil, fmt.Errorf("%s:%d: %s", path, line, rest)
			}
			return nil, fmt.Errorf("%s: %s", path, te.Errors[0])
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return l, nil
}

// MaxSize bounds the project file: a settings file is a few hundred bytes,
// and a huge one would otherwise cost seconds and memory before its error.
const MaxSize = 1 << 20

// read reads at most MaxSize bytes of the file, refusing a longer one. It
// reads through a limit rather than trusting a stat: the file may be a pipe
// or grow between the two.
func read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%s: larger than 1 MiB, the limit for a project file", path)
	}
	return b, nil
}

// check walks a mapping against the struct it decodes into, recording key
// lines and refusing keys the struct does not have.
func (l *Loaded) check(n *yaml.Node, t reflect.Type, prefix string) error {
	if n.Kind != yaml.MappingNode {
		where := "the file"
		if prefix != "" {
			where = strings.TrimSuffix(prefix, ".")
		}
		return fmt.Errorf("%s:%d: %s must be a mapping of keys to values", l.Path, n.Line, where)
	}
	fields := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		fields[KeyOf(f)] = f
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i], n.Content[i+1]
		f, ok := fields[key.Value]
		if !ok {
			return fmt.Errorf("%s:%d: unknown key %q; keys here: %s", l.Path, key.Line, prefix+key.Value, strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
		}
		l.Lines[prefix+key.Value] = key.Line
		if f.Type.Kind() == reflect.Struct {
			if err := l.check(val, f.Type, prefix+key.Value+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// KeyOf is a field's key in the file.
func KeyOf(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
