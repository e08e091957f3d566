// Command ociimage writes a single-layer OCI image archive from a list of files,
// with no container engine and no registry. The archive is byte-for-byte
// reproducible (sorted entries, zero timestamps, root ownership) and imports with
// `ctr images import`.
//
//	ociimage -ref mirror.test/echo:v1 -o echo.tar -entrypoint /echo \
//	  -file /echo=bin/echo -dir /tmp
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	var spec imageSpec
	var files, dirs, links stringList
	flag.StringVar(&spec.Ref, "ref", "", "image reference, NAME:TAG")
	flag.StringVar(&spec.Arch, "arch", runtime.GOARCH, "image architecture")
	flag.StringVar(&spec.Entrypoint, "entrypoint", "", "entrypoint path inside the image")
	flag.StringVar(&spec.User, "user", "", "default user, UID[:GID]")
	out := flag.String("o", "", "output archive path")
	flag.Var(&files, "file", "IMAGE_PATH=HOST_PATH, a regular file to add (repeatable)")
	flag.Var(&dirs, "dir", "IMAGE_PATH, an empty world-writable sticky directory such as /tmp (repeatable)")
	flag.Var(&links, "symlink", "IMAGE_PATH=TARGET, a symbolic link (repeatable)")
	flag.Parse()
	if spec.Ref == "" || *out == "" || !strings.Contains(spec.Ref, ":") {
		fmt.Fprintln(os.Stderr, "ociimage: -ref NAME:TAG and -o FILE are required")
		os.Exit(2)
	}
	for _, f := range files {
		dst, src, ok := strings.Cut(f, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "ociimage: -file %q: want IMAGE_PATH=HOST_PATH\n", f)
			os.Exit(2)
		}
		spec.Entries = append(spec.Entries, entry{Path: dst, Source: src})
	}
	for _, d := range dirs {
		spec.Entries = append(spec.Entries, entry{Path: d, Dir: true})
	}
	for _, l := range links {
		dst, target, ok := strings.Cut(l, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "ociimage: -symlink %q: want IMAGE_PATH=TARGET\n", l)
			os.Exit(2)
		}
		spec.Entries = append(spec.Entries, entry{Path: dst, Link: target})
	}
	digest, err := writeArchive(spec, *out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %s %s\n", *out, spec.Ref, digest)
}
