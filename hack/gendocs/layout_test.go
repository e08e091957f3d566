package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The table "Where things live" in docs/development.md is the one statement
// of the project's layout: a row per package, what it must not import, who
// alone may import it. TestLayout holds the code to it.
const (
	layoutDoc     = "docs/development.md"
	layoutHeading = "## Where things live"
	layoutHeader  = "| package | owns | must not import | imported only by |"
	restOfModule  = "the rest of the module"
	testsOnly     = "tests"
)

// TestLayout fails when a package of the module has no row, a row names
// nothing, or a package imports what its row forbids or is imported by one
// its row does not name.
func TestLayout(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(repoRoot, layoutDoc))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := parseLayout(string(text))
	if err != nil {
		t.Fatalf("%s: %v", layoutDoc, err)
	}
	module, pkgs, err := listPackages(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(path string) bool {
		_, err := os.Stat(filepath.Join(repoRoot, filepath.FromSlash(path)))
		return err == nil
	}
	for _, problem := range checkLayout(module, rows, pkgs, exists) {
		t.Errorf("%s: %s", layoutDoc, problem)
	}
}

// TestLayoutCatches: the check finds each kind of break in a made-up module.
func TestLayoutCatches(t *testing.T) {
	const m = "example.com/m"
	table := layoutHeading + "\n\n" + layoutHeader + `
|---|---|---|---|
| ` + "`cmd/app`" + ` | main | | |
| ` + "`pkg/cmd`" + ` | flags | | ` + "`cmd/app`" + ` |
| ` + "`pkg/proto`" + ` | the contract | the rest of the module | |
| ` + "`agent/...`" + ` | the agent | ` + "`k8s.io/client-go/...`, `pkg/cmd`" + ` | |
| ` + "`internal/testenv`" + ` | test helpers | | tests |
| ` + "`gone`" + ` | a directory since removed | | |
`
	rows, err := parseLayout(table)
	if err != nil {
		t.Fatal(err)
	}
	pkgs := []listedPackage{
		{ImportPath: m + "/cmd/app", Module: &struct{ Path string }{m}, Imports: []string{m + "/pkg/cmd"}, Deps: []string{m + "/pkg/cmd", m + "/pkg/proto"}},
		{ImportPath: m + "/pkg/cmd", Module: &struct{ Path string }{m}, Imports: []string{m + "/pkg/proto"}, Deps: []string{m + "/pkg/proto"}},
		{ImportPath: m + "/pkg/proto", Module: &struct{ Path string }{m}, Imports: []string{m + "/internal/testenv"}, Deps: []string{m + "/internal/testenv"}},
		{ImportPath: m + "/agent/sub", Module: &struct{ Path string }{m}, Imports: []string{m + "/pkg/cmd", "k8s.io/client-go/rest"}, Deps: []string{m + "/pkg/cmd", m + "/pkg/proto", "k8s.io/client-go/rest", m + "/internal/testenv"}},
		{ImportPath: m + "/internal/testenv", Module: &struct{ Path string }{m}},
		{ImportPath: m + "/stray", Module: &struct{ Path string }{m}},
		{ImportPath: "k8s.io/client-go/rest", Module: &struct{ Path string }{"k8s.io/client-go"}},
	}
	got := strings.Join(checkLayout(m, rows, pkgs, func(string) bool { return false }), "\n")
	for _, want := range []string{
		"package stray has no row",
		"row `gone`",
		"pkg/proto imports internal/testenv, which its row (line 7) forbids",
		"agent/sub imports k8s.io/client-go/rest, which its row",
		"agent/sub imports pkg/cmd, which its row",
		"agent/sub imports pkg/cmd, which only cmd/app may import",
		"pkg/proto imports internal/testenv, which only tests may import",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the check did not say %q; it said:\n%s", want, got)
		}
	}
	if strings.Contains(got, "agent/sub imports pkg/proto") { // agent's row does not forbid it
		t.Errorf("the check forbade what no row forbids:\n%s", got)
	}
}

// layoutRow is one row of the table.
type layoutRow struct {
	line       int      // in the document, for messages
	paths      []string // module-relative; "dir/..." for a tree
	forbidden  []string // patterns, or restOfModule
	importedBy []string // patterns, or testsOnly; none: anyone
}

// parseLayout reads the table under layoutHeading.
func parseLayout(text string) ([]layoutRow, error) {
	lines := strings.Split(text, "\n")
	start := slices.Index(lines, layoutHeading)
	if start < 0 {
		return nil, fmt.Errorf("no heading %q", layoutHeading)
	}
	i := start + 1
	for i < len(lines) && !strings.HasPrefix(lines[i], "|") {
		i++
	}
	if i >= len(lines) || lines[i] != layoutHeader {
		return nil, fmt.Errorf("the table under %q must start with %q", layoutHeading, layoutHeader)
	}
	var rows []layoutRow
	for i += 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
		cells := strings.Split(strings.Trim(lines[i], "|"), "|")
		if len(cells) != 4 {
			return nil, fmt.Errorf("line %d: want 4 cells, have %d (no | inside a cell)", i+1, len(cells))
		}
		row := layoutRow{line: i + 1}
		var err error
		if row.paths, err = parseItems(cells[0], nil); err == nil && len(row.paths) == 0 {
			err = errors.New("names no package")
		}
		if err == nil {
			row.forbidden, err = parseItems(cells[2], []string{restOfModule})
		}
		if err == nil {
			row.importedBy, err = parseItems(cells[3], []string{testsOnly})
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// parseItems reads a cell: `pattern`s and the given words, by commas.
func parseItems(cell string, words []string) ([]string, error) {
	var items []string
	for item := range strings.SplitSeq(cell, ",") {
		item = strings.TrimSpace(item)
		switch {
		case item == "" && strings.TrimSpace(cell) == "":
		case slices.Contains(words, item):
			items = append(items, item)
		case len(item) > 2 && item[0] == '`' && item[len(item)-1] == '`' && !strings.ContainsAny(item[1:len(item)-1], "` "):
			items = append(items, item[1:len(item)-1])
		default:
			return nil, fmt.Errorf("cannot read %q: want `path`, `path/...` or one of %q", item, words)
		}
	}
	return items, nil
}

// listedPackage is what `go list -json` says of a package.
type listedPackage struct {
	ImportPath string
	Imports    []string // direct, test files left out
	Deps       []string // every package it imports, directly or not
	Module     *struct{ Path string }
}

// listPackages lists the module's packages (the e2e suite's included) and
// every package they import.
func listPackages(dir string) (module string, pkgs []listedPackage, err error) {
	out, err := goCommand(dir, "list", "-m", "-f", "{{.Path}}")
	if err != nil {
		return "", nil, err
	}
	module = strings.TrimSpace(string(out))
	out, err = goCommand(dir, "list", "-tags", "e2e", "-deps", "-json=ImportPath,Imports,Deps,Module", "./...")
	if err != nil {
		return "", nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			return module, pkgs, nil
		} else if err != nil {
			return "", nil, err
		}
		pkgs = append(pkgs, p)
	}
}

func goCommand(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}

// matches: path (module-relative, or a full import path for a pattern
// outside the module) is pattern, or below it for "pattern/...".
func matches(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// external: the pattern names packages outside the module (its first
// element is a domain).
func external(pattern string) bool {
	first, _, _ := strings.Cut(pattern, "/")
	return strings.Contains(first, ".")
}

// checkLayout returns what the module's packages and the rows disagree on;
// exists says whether a module-relative path is in the repository.
func checkLayout(module string, rows []layoutRow, pkgs []listedPackage, exists func(string) bool) []string {
	var problems []string
	rel := func(importPath string) (string, bool) { return strings.CutPrefix(importPath, module+"/") }
	// rowOf is the most specific row naming a package (exact beats dir/...,
	// a deeper dir/... beats a shallower one).
	rowOf := func(path string) *layoutRow {
		var best *layoutRow
		bestScore := -1
		for i := range rows {
			for _, p := range rows[i].paths {
				if !matches(p, path) {
					continue
				}
				score := len(p)
				if !strings.HasSuffix(p, "/...") {
					score += 1 << 20
				}
				if score > bestScore {
					best, bestScore = &rows[i], score
				}
			}
		}
		return best
	}
	byPath := map[string]listedPackage{}
	var own []string // module-relative paths of the module's packages
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
		if r, ok := rel(p.ImportPath); ok && p.Module != nil && p.Module.Path == module {
			own = append(own, r)
		}
	}
	slices.Sort(own)
	// Every pattern names something: a row a package or a path, a rule a
	// package of the build (a typo would forbid nothing).
	for _, row := range rows {
		for _, p := range row.paths {
			if !slices.ContainsFunc(own, func(o string) bool { return matches(p, o) }) && !exists(strings.TrimSuffix(p, "/...")) {
				problems = append(problems, fmt.Sprintf("row `%s` (line %d) names no package of the module and no path of the repository", p, row.line))
			}
		}
		for _, p := range slices.Concat(row.forbidden, row.importedBy) {
			if p == restOfModule || p == testsOnly {
				continue
			}
			found := false
			for _, q := range pkgs {
				if r, ok := rel(q.ImportPath); (ok && !external(p) && matches(p, r)) || (external(p) && matches(p, q.ImportPath)) {
					found = true
					break
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("line %d: `%s` is no package of the build", row.line, p))
			}
		}
	}
	for _, path := range own {
		row := rowOf(path)
		if row == nil {
			problems = append(problems, fmt.Sprintf("package %s has no row in the table under %q", path, layoutHeading))
			continue
		}
		p := byPath[module+"/"+path]
		for _, f := range row.forbidden {
			// One line per rule broken: a direct import first, else the
			// first package that brings it in.
			var hits []string
			for _, dep := range p.Deps {
				depRel, inModule := rel(dep)
				switch {
				case f == restOfModule && inModule && !matches(path+"/...", depRel),
					f != restOfModule && external(f) && matches(f, dep),
					f != restOfModule && !external(f) && inModule && matches(f, depRel):
					hits = append(hits, dep)
				}
			}
			if len(hits) == 0 {
				continue
			}
			first := hits[0]
			if i := slices.IndexFunc(hits, func(h string) bool { return slices.Contains(p.Imports, h) }); i >= 0 {
				first = hits[i]
			}
			more := ""
			if len(hits) > 1 {
				more = fmt.Sprintf(" and %d more", len(hits)-1)
			}
			firstRel, inModule := rel(first)
			problems = append(problems, fmt.Sprintf("%s imports %s%s%s, which its row (line %d) forbids (%s)",
				path, short(first, firstRel, inModule), through(p, first, byPath, rel), more, row.line, f))
		}
		for _, imp := range p.Imports {
			impRel, inModule := rel(imp)
			if !inModule {
				continue
			}
			target := rowOf(impRel)
			if target == nil || len(target.importedBy) == 0 || target == row {
				continue
			}
			if !slices.ContainsFunc(target.importedBy, func(by string) bool { return by != testsOnly && matches(by, path) }) {
				problems = append(problems, fmt.Sprintf("%s imports %s, which only %s may import (line %d)", path, impRel, strings.Join(target.importedBy, ", "), target.line))
			}
		}
	}
	return problems
}

// short is dep as the table writes it.
func short(dep, depRel string, inModule bool) string {
	if inModule {
		return depRel
	}
	return dep
}

// through names the direct import of p that brings dep in, when dep is not
// one itself.
func through(p listedPackage, dep string, byPath map[string]listedPackage, rel func(string) (string, bool)) string {
	if slices.Contains(p.Imports, dep) {
		return ""
	}
	for _, imp := range p.Imports {
		if slices.Contains(byPath[imp].Deps, dep) {
			r, ok := rel(imp)
			return " (through " + short(imp, r, ok) + ")"
		}
	}
	return ""
}
