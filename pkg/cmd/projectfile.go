package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/projectfile"
)

// loadProjectFile reads the file --config names, else the project file
// found from the working directory up; nil when there is none.
func loadProjectFile(explicit string) (*projectfile.Loaded, error) {
	path := explicit
	if path == "" {
		dir, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		found, ok := projectfile.Find(dir)
		if !ok {
			return nil, nil
		}
		path = found
	}
	return projectfile.Load(path)
}

// applyProjectFile sets the flags the file's keys stand for, each one the
// command line did not set itself (flags win), and returns the file's
// target. A value a flag refuses is an error naming the file, line and key;
// so is a key whose flag cmd lacks, unless only some apply (trace takes the
// rules and skips the rest).
func applyProjectFile(cmd *cobra.Command, l *projectfile.Loaded, only someApply) ([]string, error) {
	return applyKeys(cmd, l, only, nil)
}

// applyProjectFileKeys is applyProjectFile for the keys keep accepts alone
// (port-forward takes the target's keys and its own, not run's rules).
func applyProjectFileKeys(cmd *cobra.Command, l *projectfile.Loaded, keep func(key string) bool) ([]string, error) {
	return applyKeys(cmd, l, true, keep)
}

func applyKeys(cmd *cobra.Command, l *projectfile.Loaded, only someApply, keep func(key string) bool) ([]string, error) {
	onCommandLine := map[string]bool{}
	cmd.Flags().Visit(func(f *pflag.Flag) { onCommandLine[f.Name] = true })
	if err := applyStruct(cmd, l, reflect.ValueOf(l.File), "", onCommandLine, only, keep); err != nil {
		return nil, err
	}
	return strings.Fields(l.File.Target), nil
}

// someApply says whether keys for flags the command lacks are skipped.
type someApply bool

func applyStruct(cmd *cobra.Command, l *projectfile.Loaded, v reflect.Value, prefix string, onCommandLine map[string]bool, only someApply, keep func(string) bool) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f, fv := t.Field(i), v.Field(i)
		key := prefix + projectfile.KeyOf(f)
		if c := f.Tag.Get("command"); c != "" && c != cmd.Name() {
			continue // another command's keys (portForward)
		}
		if f.Type.Kind() == reflect.Struct {
			if err := applyStruct(cmd, l, fv, key+".", onCommandLine, only, keep); err != nil {
				return err
			}
			continue
		}
		name := f.Tag.Get("flag")
		if name == "" || fv.IsZero() || onCommandLine[name] || keep != nil && !keep(key) {
			continue
		}
		fl := cmd.Flags().Lookup(name)
		if fl == nil && only {
			continue
		}
		if fl == nil {
			return fmt.Errorf("%s:%d: %s: the command has no --%s", l.Path, l.Lines[key], key, name)
		}
		values := flagStrings(fv, f.Tag.Get("sep"))
		for i, v := range values {
			local, err := localPath(l, f.Tag.Get("local"), f.Tag.Get("sep"), v)
			if err != nil {
				return fmt.Errorf("%s:%d: %s: %w", l.Path, l.Lines[key], key, err)
			}
			values[i] = local
		}
		for _, s := range values {
			if err := setFrom(fl.Value, s, fmt.Sprintf("%s:%d: %s: %q", l.Path, l.Lines[key], key, s)); err != nil {
				if !strings.Contains(err.Error(), s) {
					err = fmt.Errorf("%q: %w", s, err)
				}
				return fmt.Errorf("%s:%d: %s: %w", l.Path, l.Lines[key], key, err)
			}
			fl.Changed = true
		}
	}
	return nil
}

// fromSetter is a flag value checked again later (a host name, resolved once
// the session is up), whose later errors name where it was given.
type fromSetter interface {
	setFrom(s, from string) error
}

// setFrom sets v to s, given in from (a project file's line and key).
func setFrom(v pflag.Value, s, from string) error {
	if f, ok := v.(fromSetter); ok {
		return f.setFrom(s, from)
	}
	return v.Set(s)
}

// flagStrings spells a value as the flag's arguments: one per item of a
// list, KEY<sep>VALUE per entry of a map (in key order).
func flagStrings(v reflect.Value, sep string) []string {
	switch v.Kind() {
	case reflect.Pointer:
		return flagStrings(v.Elem(), sep)
	case reflect.Slice:
		var out []string
		for i := 0; i < v.Len(); i++ {
			out = append(out, fmt.Sprint(v.Index(i).Interface()))
		}
		return out
	case reflect.Map:
		var out []string
		for _, k := range v.MapKeys() {
			out = append(out, fmt.Sprint(k.Interface())+sep+fmt.Sprint(v.MapIndex(k).Interface()))
		}
		slices.Sort(out)
		return out
	}
	return []string{fmt.Sprint(v.Interface())}
}

// localPath resolves a local path the file names against the file's own
// directory (for a map value, the part after sep). "inside": the path must
// not leave that directory (a file the plugin writes).
func localPath(l *projectfile.Loaded, how, sep, v string) (string, error) {
	if how == "" {
		return v, nil
	}
	prefix, p := "", v
	if sep != "" {
		var ok bool
		if prefix, p, ok = strings.Cut(v, sep); !ok {
			return v, nil
		}
		prefix += sep
	}
	dir := filepath.Dir(l.Path)
	if how == "inside" {
		rel := filepath.Clean(p)
		if filepath.IsAbs(rel) || rel == ".." || strings.HasPrefix(rel, "../") {
			return "", fmt.Errorf("%q: the project file may only name a file inside its own directory (%s); give another with the flag", p, dir)
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	return prefix + p, nil
}
