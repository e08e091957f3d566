//go:build tools

// Package istiobuild pins Istio's pilot-agent, whose istio-iptables subcommand the
// meshed test pods' init container runs exactly as Istio's sidecar injection does.
// It is never compiled; build-binaries.sh builds the command.
package istiobuild

import _ "istio.io/istio/pilot/cmd/pilot-agent"
