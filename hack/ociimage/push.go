package main

import (
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// pushSpec builds the spec and pushes it to ref: the image for one
// architecture, the index for several. It returns REPO@DIGEST.
func pushSpec(spec imageSpec, ref string) (string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	if len(spec.Archs) == 1 {
		img, err := buildImage(spec, spec.Archs[0])
		if err != nil {
			return "", err
		}
		return pushImage(r, img)
	}
	idx, err := buildIndex(spec)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		return "", err
	}
	d, err := idx.Digest()
	return r.Context().Name() + "@" + d.String(), err
}

// pushTarball pushes the image of a tarball -o wrote to ref, or, with
// mirrorTo, to that registry under the repository and tag it was built as
// (mirror.test/echo:v1 -> HOST:PORT/echo:v1).
func pushTarball(path, ref, mirrorTo string) (string, error) {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return "", err
	}
	if mirrorTo != "" {
		m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
		if err != nil {
			return "", err
		}
		if len(m) != 1 || len(m[0].RepoTags) != 1 {
			return "", fmt.Errorf("%s: want one image with one tag", path)
		}
		tag, err := name.NewTag(m[0].RepoTags[0])
		if err != nil {
			return "", err
		}
		ref = mirrorTo + "/" + tag.RepositoryStr() + ":" + tag.TagStr()
	}
	r, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return pushImage(r, img)
}

// pushImage writes img to r and returns REPO@DIGEST.
func pushImage(r name.Reference, img v1.Image) (string, error) {
	if err := remote.Write(r, img); err != nil {
		return "", err
	}
	d, err := img.Digest()
	return r.Context().Name() + "@" + d.String(), err
}

// parseRef reads a reference; registries at an IP address or localhost may
// speak plain HTTP (the test cluster's does).
func parseRef(ref string) (name.Reference, error) {
	return name.ParseReference(ref, name.Insecure)
}
