// Package version holds the build's version, stamped with -ldflags -X by the
// Makefile, and the agent image that version runs, so the two never drift.
package version

// Version is the plugin's semantic version, "v"-prefixed.
var Version = "v0.1.0-dev"

// AgentRepository is where the released agent image lives.
var AgentRepository = "ghcr.io/kubectl-mirror/mirror-agent"

// AgentImage is the default --agent-image: the agent released with this plugin.
func AgentImage() string { return AgentRepository + ":" + Version }
