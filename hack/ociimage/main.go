// Command ociimage builds a single-layer image from a list of files, with
// go-containerregistry and no container engine, reproducibly (sorted
// entries, zero timestamps, root ownership: the same inputs give the same
// digest). It writes one architecture's image as a tarball (-o), and pushes
// the image, or with several -arch the multi-architecture index, to a
// registry (-push); a registry at an IP address or localhost may be plain HTTP.
//
//	ociimage -ref mirror.test/echo:v1 -o echo.tar -entrypoint /echo \
//	  -file /echo=bin/echo -dir /tmp
//	ociimage -ref ghcr.io/kubectl-mirror/mirror-agent:v1 -arch amd64,arm64 \
//	  -entrypoint /mirror-agent -file '/mirror-agent=dist/linux_{arch}/mirror-agent' \
//	  -push registry.example/kubectl-mirror/mirror-agent:v1
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ociimage:", err)
		os.Exit(1)
	}
}

func run() error {
	var spec imageSpec
	var files, dirs, links stringList
	archs := flag.String("arch", runtime.GOARCH, "architectures, comma-separated; several make an index (-push only)")
	flag.StringVar(&spec.Ref, "ref", "", "image reference, NAME:TAG (named in the tarball)")
	flag.StringVar(&spec.Entrypoint, "entrypoint", "", "entrypoint path inside the image")
	flag.StringVar(&spec.User, "user", "", "default user, UID[:GID]")
	out := flag.String("o", "", "write the image as a tarball here (one architecture)")
	push := flag.String("push", "", "push the image (or the index) to this reference, REGISTRY/REPO:TAG, and print REGISTRY/REPO@DIGEST")
	load := flag.String("load", "", "push this tarball's image instead of building one (with -push, or -mirror-to)")
	mirrorTo := flag.String("mirror-to", "", "with -load: push to this REGISTRY (HOST:PORT) under the tarball's own repository and tag")
	flag.Var(&files, "file", "IMAGE_PATH=HOST_PATH, a regular file to add; {arch} in HOST_PATH is the architecture (repeatable)")
	flag.Var(&dirs, "dir", "IMAGE_PATH, an empty world-writable sticky directory such as /tmp (repeatable)")
	flag.Var(&links, "symlink", "IMAGE_PATH=TARGET, a symbolic link (repeatable)")
	flag.Parse()
	if *load != "" && (*push != "" || *mirrorTo != "") {
		d, err := pushTarball(*load, *push, *mirrorTo)
		if err == nil {
			fmt.Println(d)
		}
		return err
	}
	spec.Archs = strings.Split(*archs, ",")
	if spec.Ref == "" || (*out == "" && *push == "") || !strings.Contains(spec.Ref, ":") {
		return fmt.Errorf("-ref NAME:TAG and -o FILE or -push REF are required")
	}
	if *out != "" && len(spec.Archs) != 1 {
		return fmt.Errorf("-o writes one architecture; push an index with -push")
	}
	for _, f := range files {
		dst, src, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("-file %q: want IMAGE_PATH=HOST_PATH", f)
		}
		spec.Entries = append(spec.Entries, entry{Path: dst, Source: src})
	}
	for _, d := range dirs {
		spec.Entries = append(spec.Entries, entry{Path: d, Dir: true})
	}
	for _, l := range links {
		dst, target, ok := strings.Cut(l, "=")
		if !ok {
			return fmt.Errorf("-symlink %q: want IMAGE_PATH=TARGET", l)
		}
		spec.Entries = append(spec.Entries, entry{Path: dst, Link: target})
	}
	if *out != "" {
		img, err := buildImage(spec, spec.Archs[0])
		if err != nil {
			return err
		}
		tag, err := name.NewTag(spec.Ref)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			return err
		}
		if err := tarball.WriteToFile(*out, tag, img); err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s %s\n", *out, spec.Ref, d)
	}
	if *push != "" {
		d, err := pushSpec(spec, *push)
		if err != nil {
			return err
		}
		fmt.Println(d)
	}
	return nil
}
