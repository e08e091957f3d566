//go:build tools

// Package krew pins krew v0.4.4, whose own validator and installer check the
// plugin's release. A plain `go install sigs.k8s.io/krew/...@v0.4.4` fails (the
// module proxy refuses v0.4.5 when go looks up deprecations), so this wrapper
// module requires it and `go build` builds the two commands from here.
package krew

import (
	_ "sigs.k8s.io/krew/cmd/krew"
	_ "sigs.k8s.io/krew/cmd/validate-krew-manifest"
)
