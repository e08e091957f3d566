package protocol

// Version is the protocol version; see the package doc for the rules.
const Version = 1

// MaxFrame bounds one frame's JSON (1 MiB).
const MaxFrame = 1 << 20

// Hello opens the control stream (plugin to agent).
type Hello struct {
	Version       int    `json:"version"`
	PluginVersion string `json:"pluginVersion"`
	Secret        string `json:"secret"`
}

// Welcome answers Hello (agent to plugin). Error is set when the agent refuses.
type Welcome struct {
	Version      int    `json:"version"`
	AgentVersion string `json:"agentVersion"`
	Error        string `json:"error,omitempty"`
}

// Request kinds.
const (
	KindEnv = "env" // the target process's environment
)

// Request opens a request stream.
type Request struct {
	Kind string `json:"kind"`
}

// Response answers a Request. Error is set when the request failed.
type Response struct {
	Error string   `json:"error,omitempty"`
	Env   []string `json:"env,omitempty"` // KindEnv: KEY=VALUE as the process sees them
}
