// Package projectfile is the project file, .kubectl-mirror.yaml: the settings
// a team checks in so that `kubectl mirror run -- go run .` is the whole
// command. Each key stands for a run flag (named in its `flag` tag), and the
// command applies the file's values as if they were flags it was not given.
package projectfile

// Name is the project file's name.
const Name = ".kubectl-mirror.yaml"

// File is the project file. Keys are YAML; every one is optional. Local
// paths in it are relative to the file's directory, wherever run starts
// (`local` tags); the one the plugin writes must stay inside that directory,
// so a checked-in file cannot make a run write elsewhere on this machine.
type File struct {
	Target    string    `yaml:"target,omitempty" doc:"what to mirror, as TARGET on the command line: deploy/api, statefulset/db, pod/api-0, service/api"`
	Namespace string    `yaml:"namespace,omitempty" flag:"namespace" doc:"the target's namespace (default: the kubeconfig context's)"`
	Context   string    `yaml:"context,omitempty" flag:"context" doc:"the kubeconfig context to use"`
	Container string    `yaml:"container,omitempty" flag:"container" doc:"the container of the pod (default: the kubectl.kubernetes.io/default-container annotation, else the first)"`
	Env       Env       `yaml:"env,omitempty" doc:"the program's environment"`
	Outgoing  Outgoing  `yaml:"outgoing,omitempty" doc:"which connections leave from the pod"`
	Files     Files     `yaml:"files,omitempty" doc:"which files come from the pod"`
	Incoming  Incoming  `yaml:"incoming,omitempty" doc:"what the program's listening ports get from the pod's"`
	Processes Processes `yaml:"processes,omitempty" doc:"which programs run native"`
	Agent     Agent     `yaml:"agent,omitempty" doc:"the agent injected into the pod"`
	Copy      Copy      `yaml:"copy,omitempty" doc:"run against a new pod made from the target's pod template instead of one of its pods"`
	// PortForward is `kubectl mirror port-forward`'s alone (run skips it).
	PortForward PortForward `yaml:"portForward,omitempty" command:"port-forward" doc:"what kubectl mirror port-forward forwards when given no -L or -R"`
}

// PortForward is port-forward's -L and -R.
type PortForward struct {
	Local   []string `yaml:"local,omitempty" flag:"forward" doc:"[LOCAL_ADDR:]LOCAL_PORT:HOST:PORT[/udp], as -L: the local port's connections (datagrams) go to HOST:PORT as the pod sends them"`
	Reverse []string `yaml:"reverse,omitempty" flag:"reverse" doc:"REMOTE_PORT:LOCAL_HOST:LOCAL_PORT, as -R: the pods' port is stolen and served by LOCAL_HOST:LOCAL_PORT on this machine"`
}

// Copy is --copy-target and the flags that shape the copy.
type Copy struct {
	Enabled   *bool  `yaml:"enabled,omitempty" flag:"copy-target" doc:"run against a copy of the target (a new pod from its template, deleted when the session ends)"`
	Labels    *bool  `yaml:"labels,omitempty" flag:"copy-target-labels" doc:"give the copy the source's labels, so its Services send it traffic (default true)"`
	Command   string `yaml:"command,omitempty" flag:"copy-target-command" doc:"the copy's app container runs this instead of its command (split at spaces, or a JSON array); its probes are dropped"`
	ScaleDown *bool  `yaml:"scaleDown,omitempty" flag:"scale-down" doc:"scale the source Deployment or StatefulSet to 0 for the session, restored after"`
}

// Env is the program's environment.
type Env struct {
	Import  *bool             `yaml:"import,omitempty" flag:"env-import" doc:"take the pod's environment (default true); false takes none of it, set still applies"`
	Include []string          `yaml:"include,omitempty" flag:"env-include" doc:"take only the pod's variables matching these globs; PATH, HOME and the like only when named exactly"`
	Exclude []string          `yaml:"exclude,omitempty" flag:"env-exclude" doc:"leave out the pod's variables matching these globs"`
	Unset   []string          `yaml:"unset,omitempty" flag:"env-unset" doc:"remove variables matching these globs, the pod's and this machine's (load and set still apply)"`
	Load    []string          `yaml:"load,omitempty" flag:"env-load" local:"relative" doc:"dotenv files loaded over the pod's variables and under set, in order; paths relative to this file's directory"`
	Set     map[string]string `yaml:"set,omitempty" flag:"env" sep:"=" doc:"variables set over the pod's"`
	File    string            `yaml:"file,omitempty" flag:"env-file" local:"inside" doc:"also write the pod's variables to this file, dotenv syntax, mode 0600; a path relative to this file's directory, inside it"`
}

// Outgoing decides which connections leave from the pod.
type Outgoing struct {
	Local       []string `yaml:"local,omitempty" flag:"local" doc:"destinations kept local: CIDR, address, host or :PORT, optionally with :PORT"`
	Remote      []string `yaml:"remote,omitempty" flag:"remote" doc:"only these destinations go through the pod: CIDR, address, host or :PORT"`
	DialTimeout string   `yaml:"dialTimeout,omitempty" flag:"dial-timeout" format:"duration" doc:"how long the pod tries to connect before the program's connect fails with ETIMEDOUT (default 30s)"`
}

// Files decides which files come from the pod.
type Files struct {
	Mode   string            `yaml:"mode,omitempty" flag:"fs-mode" enum:"remote,local,all" doc:"remote: the pod's default files and config mounts; local: only the remote paths; all: every path but the local set"`
	Remote []string          `yaml:"remote,omitempty" flag:"fs-remote" doc:"more paths (files or directories) read from the pod"`
	Local  []string          `yaml:"local,omitempty" flag:"fs-local" doc:"paths kept local even where they would be read from the pod"`
	Map    map[string]string `yaml:"map,omitempty" flag:"fs-map" sep:"=" local:"relative" doc:"pod path -> local file or directory serving it, relative to this file's directory; read-only, or taking the program's writes when it ends in :rw"`
	Write  *bool             `yaml:"write,omitempty" flag:"fs-write" doc:"carry the program's changes of the pod's files out in the pod"`
	View   string            `yaml:"view,omitempty" flag:"fs-view" enum:"auto,mount,stops" doc:"how the pod's files reach the program: mount (a mount namespace of its own, as root), stops (each file call stopped), auto (mount where allowed)"`
}

// Incoming decides what the program's listening ports get.
type Incoming struct {
	Mode     string      `yaml:"mode,omitempty" flag:"incoming" enum:"mirror,steal,off" doc:"mirror (default): copies of the pod's traffic; steal: the pod's traffic; off: nothing"`
	Filters  []string    `yaml:"filters,omitempty" flag:"http-filter" doc:"with steal, only HTTP requests matching all of these: 'header:NAME: REGEXP', 'path:REGEXP', 'method:REGEXP'"`
	Ports    []int       `yaml:"ports,omitempty" flag:"incoming-ports" doc:"the local listening ports that take part (default: all)"`
	PortMap  map[int]int `yaml:"portMap,omitempty" flag:"port-map" sep:":" doc:"the program's port -> the pod's port it gets"`
	Takeover *bool       `yaml:"takeover,omitempty" flag:"incoming-takeover" doc:"take pod ports other sessions hold (they are told)"`
	// MirrorProbes keeps the kubelet's probes among the mirrored copies.
	MirrorProbes *bool `yaml:"mirrorProbes,omitempty" flag:"mirror-probes" doc:"with mirror, copy the kubelet's probes to the program too (left out by default)"`
}

// Processes decides which programs run native.
type Processes struct {
	SkipBuildTools *bool    `yaml:"skipBuildTools,omitempty" flag:"skip-build-tools" doc:"run toolchains, compilers, linkers and git native (default true)"`
	Skip           []string `yaml:"skip,omitempty" flag:"skip-process" doc:"more programs that run native, by file name"`
}

// Agent is the agent injected into the pod.
type Agent struct {
	Image          string `yaml:"image,omitempty" flag:"agent-image" doc:"the agent image"`
	PullPolicy     string `yaml:"pullPolicy,omitempty" flag:"agent-image-pull-policy" enum:"Always,IfNotPresent,Never" doc:"the agent image's pull policy"`
	IdleTimeout    string `yaml:"idleTimeout,omitempty" flag:"agent-idle-timeout" format:"duration" doc:"the agent exits after this long without a session (default 5m)"`
	StartupTimeout string `yaml:"startupTimeout,omitempty" flag:"agent-startup-timeout" format:"duration" doc:"give up when the agent is not running after this long (default 60s)"`
}
