package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// entry is one thing in the image's filesystem.
type entry struct {
	Path   string // absolute path inside the image
	Source string // host file to copy (regular files)
	Dir    bool   // an empty sticky world-writable directory
	Link   string // symlink target
}

// buildLayer returns an uncompressed tar of the entries plus every parent
// directory they need, sorted and stamped with time zero so equal inputs give
// equal bytes.
func buildLayer(entries []entry) ([]byte, error) {
	byPath := map[string]entry{}
	for _, e := range entries {
		p := strings.TrimPrefix(path.Clean("/"+e.Path), "/")
		if p == "" {
			return nil, fmt.Errorf("entry %q: empty path", e.Path)
		}
		for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
			if _, ok := byPath[dir]; !ok {
				byPath[dir] = entry{Path: dir}
			}
		}
		e.Path = p
		byPath[p] = e
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		if err := writeEntry(tw, byPath[p]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeEntry(tw *tar.Writer, e entry) error {
	hdr := &tar.Header{Name: e.Path, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
	var data []byte
	switch {
	case e.Link != "":
		hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.Link, 0o777
	case e.Source != "":
		b, err := os.ReadFile(e.Source)
		if err != nil {
			return err
		}
		st, err := os.Stat(e.Source)
		if err != nil {
			return err
		}
		data = b
		hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeReg, int64(len(b)), int64(st.Mode().Perm())
	case e.Dir:
		hdr.Name += "/"
		hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o1777
	default: // a parent directory
		hdr.Name += "/"
		hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err := tw.Write(data)
	return err
}
