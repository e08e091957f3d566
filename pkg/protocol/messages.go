package protocol

// Version is the protocol version; see the package doc for the rules.
const Version = 4

// MaxFrame bounds one frame's JSON (1 MiB).
const MaxFrame = 1 << 20

// Hello opens the control stream (plugin to agent).
type Hello struct {
	Version       int    `json:"version"`
	PluginVersion string `json:"pluginVersion"`
}

// Welcome answers Hello (agent to plugin). Error is set when the agent refuses.
type Welcome struct {
	Version      int    `json:"version"`
	AgentVersion string `json:"agentVersion"`
	// Domainname is the pod's NIS domain name (uname), which the program's
	// uname reports too.
	Domainname string `json:"domainname,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Request kinds.
const (
	KindEnv = "env" // the target process's environment
	// KindDial: connect to Address over TCP from the pod (IP:PORT, or HOST:PORT
	// resolved by the pod's DNS, for port-forward). After an OK
	// Response the stream carries the connection's bytes both ways; a half-close
	// (CloseWrite) of the stream is a TCP shutdown(SHUT_WR) and back.
	KindDial = "dial"
	// KindUDP: a UDP flow to Address from the pod (IP:PORT, or HOST:PORT
	// resolved by the pod's DNS, for port-forward). After an OK Response the
	// stream carries datagrams, each framed by a 2-byte big-endian length.
	KindUDP = "udp"
	// KindFile: the whole content of Path as the target container sees it.
	KindFile = "file"
	// KindTree: Path and everything under it as the target container sees
	// it. After an OK Response come TreeEntry frames, each file's entry
	// followed by exactly Size raw bytes, and a last entry with End set.
	KindTree = "tree"
	// KindIncoming: serve the pod's TCP Port to the session (Mode mirror or
	// steal, HTTP Filters for steal). The agent answers once its redirect is in
	// place, keeps the stream open while it serves, and removes the redirect
	// when the stream or the session closes. Each connection for the program
	// arrives as a stream the agent opens, starting with an IncomingConn frame;
	// for mirror the program's answers on it are dropped.
	KindIncoming = "incoming"
	// KindStatfs: the file system Path lies on, as the target sees it
	// (Response.Statfs).
	KindStatfs = "statfs"
	// KindStat: lstat of each of Paths as the target sees it
	// (Response.Metas, nil where a path is missing). Agents before it answer
	// an error: the plugin then shows its copies' own metadata.
	KindStat = "stat"
	// KindMutate: change the target's file system as Op says, at Path
	// (and Path2), inside the target's root, as the agent's user (--fs-write).
	KindMutate = "mutate"
)

// Mutation ops (Request.Op).
const (
	OpMkdir    = "mkdir"       // Path, Perm
	OpUnlink   = "unlink"      // Path
	OpRmdir    = "rmdir"       // Path
	OpRename   = "rename"      // Path to Path2, Flags (renameat2's)
	OpLink     = "link"        // Path2 a new hard link to Path
	OpSymlink  = "symlink"     // Path a symlink holding Link
	OpChmod    = "chmod"       // Path, Perm
	OpTruncate = "truncate"    // Path, Size
	OpOpen     = "open"        // Path opened with Flags (O_CREAT, O_TRUNC, ...) and Perm, then closed
	OpWrite    = "write"       // Path's content replaced by Data
	OpChown    = "chown"       // Path's Owner (uid, gid; -1 keeps one); Flags AT_SYMLINK_NOFOLLOW
	OpTimes    = "times"       // Path's Times (atime s, ns, mtime s, ns; UTIME_NOW/OMIT in ns); Flags as chown
	OpSetxattr = "setxattr"    // Path's extended attribute Xattr set to Data; Flags XATTR_*, and AT_SYMLINK_NOFOLLOW
	OpRmxattr  = "removexattr" // Path's extended attribute Xattr removed; Flags as chown
	OpMknod    = "mknod"       // Path made with Perm (file type and permission bits) and Dev
)

// Mode is what an incoming claim does with the pod's port.
type Mode string

// Incoming modes.
const (
	ModeMirror Mode = "mirror" // copies to the program; the pod's app answers
	ModeSteal  Mode = "steal"  // the program answers (with filters: the requests that match)
)

// HTTPFilter selects the requests a steal takes, HTTP/1.x requests and
// cleartext HTTP/2 streams alike (so gRPC calls, by metadata and method):
// Kind "header" (Name's value matches Pattern), "path" (the URL path, a
// gRPC call's /package.Service/Method, matches Pattern) or "method" (the
// request method matches Pattern).
type HTTPFilter struct {
	Kind    string `json:"kind"`
	Name    string `json:"name,omitempty"`
	Pattern string `json:"pattern"`
}

// IncomingConn opens a stream the agent starts for an incoming connection.
type IncomingConn struct {
	Port   int    `json:"port"`   // the pod's port it reached
	Client string `json:"client"` // the caller, as the pod saw it
	Mode   Mode   `json:"mode"`
}

// TreeEntry is one file, directory or symlink of a tree, by its path
// relative to the requested one ("" is the requested path itself).
type TreeEntry struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"` // "dir", "file" or "symlink"
	Mode uint32 `json:"mode,omitempty"` // permission, setuid, setgid and sticky bits
	Size int64  `json:"size,omitempty"` // file bytes that follow
	Link string `json:"link,omitempty"` // symlink target, as stored
	// Mtime is the modification time in the pod, in nanoseconds since the epoch
	// (0 is the epoch itself, which image layers often carry).
	Mtime int64 `json:"mtime,omitempty"`
	// Meta is the entry's stat in the pod (agents before it sent none).
	Meta *FileMeta `json:"meta,omitempty"`
	// StubSize is a listed file's size (a Shallow tree's directory
	// children): its bytes do not follow, and are fetched when needed.
	StubSize int64  `json:"stubSize,omitempty"`
	End      bool   `json:"end,omitempty"`
	Error    string `json:"error,omitempty"` // set with End when the walk stopped short
}

// Tree entry types.
const (
	TreeDir     = "dir"
	TreeFile    = "file"
	TreeSymlink = "symlink"
)

// Request opens a request stream.
type Request struct {
	Kind    string   `json:"kind"`
	Address string   `json:"address,omitempty"` // dial, udp: "IP:PORT"
	Timeout int64    `json:"timeoutMs,omitempty"`
	Path    string   `json:"path,omitempty"`  // file, tree
	Paths   []string `json:"paths,omitempty"` // stat
	// Shallow (tree): Path itself only, not followed if a symlink; a
	// directory comes with its children listed (StubSize, no bytes).
	Shallow bool `json:"shallow,omitempty"`
	// mutate
	Op    string  `json:"op,omitempty"`
	Path2 string  `json:"path2,omitempty"`
	Perm  uint32  `json:"perm,omitempty"`
	Link  string  `json:"link,omitempty"`
	Flags int     `json:"flags,omitempty"`
	Size  int64   `json:"size,omitempty"`
	Data  []byte  `json:"data,omitempty"`
	Owner []int   `json:"owner,omitempty"`
	Times []int64 `json:"times,omitempty"`
	Xattr string  `json:"xattr,omitempty"`
	Dev   uint64  `json:"dev,omitempty"`
	// incoming
	Port    int          `json:"port,omitempty"`
	Mode    Mode         `json:"mode,omitempty"`
	Filters []HTTPFilter `json:"filters,omitempty"`
	// ProbePaths are the kubelet's HTTP probe paths on Port (from the pod
	// spec): a request for one of them from "kube-probe/" is always the
	// pod's app's to answer, so a session never makes the pod unready.
	ProbePaths []string `json:"probePaths,omitempty"`
	// Session names the plugin run asking (the same across its reconnects)
	// and Holder describes it for others ("user alice on host dev-1"): a
	// port another session holds is refused, naming its holder.
	Session string `json:"session,omitempty"`
	Holder  string `json:"holder,omitempty"`
	// Takeover: take the port from the sessions holding it (they are told)
	// instead of being refused.
	Takeover bool `json:"takeover,omitempty"`
	// MirrorProbes (mirror): copy the kubelet's probes of ProbePaths to the
	// session too; left out by default, as they are noise to the program.
	MirrorProbes bool `json:"mirrorProbes,omitempty"`
}

// Response answers a Request. Error is set when the request failed; Errno
// names the errno a program in the pod would have seen ("ECONNREFUSED").
type Response struct {
	Error string   `json:"error,omitempty"`
	Errno string   `json:"errno,omitempty"`
	Env   []string `json:"env,omitempty"`  // KindEnv: KEY=VALUE as the process sees them
	Data  []byte   `json:"data,omitempty"` // KindFile
	Mode  uint32   `json:"mode,omitempty"` // KindFile: permission bits
	// Local is KindDial's pod-side local address ("IP:PORT"), what the
	// program's getsockname reports.
	Local string `json:"local,omitempty"`
	// Statfs is KindStatfs's answer.
	Statfs *Statfs `json:"statfs,omitempty"`
	// Metas is KindStat's answer, one per path asked.
	Metas []*FileMeta `json:"metas,omitempty"`
	// Ask (KindIncoming, any time while the claim lasts): a question for
	// the plugin, which writes one Answer frame back on the stream. It is
	// neither the claim's answer nor its end.
	Ask *Ask `json:"ask,omitempty"`
}

// Statfs is statfs(2)'s answer, field by field (the plugin's architecture
// lays it out).
type Statfs struct {
	Type    int64  `json:"type"`
	Bsize   int64  `json:"bsize"`
	Blocks  uint64 `json:"blocks"`
	Bfree   uint64 `json:"bfree"`
	Bavail  uint64 `json:"bavail"`
	Files   uint64 `json:"files"`
	Ffree   uint64 `json:"ffree"`
	Namelen int64  `json:"namelen"`
	Frsize  int64  `json:"frsize"`
	Flags   int64  `json:"flags"`
	// Fsid is the file system's id, which programs compare to tell file systems apart.
	Fsid [2]int32 `json:"fsid"`
}

// FileMeta is stat(2)'s answer about one file in the pod, field by field:
// what the program's stat of the session's copy reports instead of the
// copy's own (owner, link count, inode and device, sizes, times).
type FileMeta struct {
	Mode    uint32 `json:"mode"` // st_mode: the file type and permission bits
	UID     uint32 `json:"uid"`
	GID     uint32 `json:"gid"`
	Nlink   uint64 `json:"nlink"`
	Size    int64  `json:"size"`
	Ino     uint64 `json:"ino"`
	Dev     uint64 `json:"dev"`
	Rdev    uint64 `json:"rdev,omitempty"`
	Blksize int64  `json:"blksize"`
	Blocks  int64  `json:"blocks"`
	// Atime, Mtime and Ctime are in nanoseconds since the epoch.
	Atime int64 `json:"atime"`
	Mtime int64 `json:"mtime"`
	Ctime int64 `json:"ctime"`
}
