package protocol

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// AgentArgs is the agent's command line, built and read in one place: the
// plugin writes it into the ephemeral container's Args, the agent parses it,
// and the plugin reads a running agent's back to decide whether to reuse it.
type AgentArgs struct {
	Port        int           // the agent listens on 127.0.0.1:Port
	IdleTimeout time.Duration // it exits after this long with no session
	Key         string        // the one user it accepts (EncodeKey form)
	TargetPID   int           // the target's process in the agent's PID namespace (0: 1)
	// Identity is the agent's own name, AgentIdentity(pod UID, container):
	// it accepts only proofs made for it.
	Identity string
	Version  bool // print the version and exit
}

// Defaults of the agent's flags.
const (
	DefaultAgentPort        = 47000
	DefaultAgentIdleTimeout = 5 * time.Minute
)

// Args is the command line that says a (flags the agent defaults are left out).
func (a AgentArgs) Args() []string {
	args := []string{"--listen=127.0.0.1:" + strconv.Itoa(a.Port), "--idle-timeout=" + a.IdleTimeout.String()}
	if a.TargetPID != 0 {
		args = append(args, "--target-pid="+strconv.Itoa(a.TargetPID))
	}
	return append(args, AuthorizedKeyFlag+"="+a.Key, IdentityFlag+"="+a.Identity)
}

// IdentityFlag names the agent's identity, AgentIdentity(pod UID, container).
// A Job's pod learns its UID from the downward API: "$(MIRROR_POD_UID)/agent".
const IdentityFlag = "--identity"

// ErrNoIdentity: an agent without an identity would accept any proof.
var ErrNoIdentity = errors.New("--identity must name the agent (POD_UID/CONTAINER)")

// CheckIdentity is what an agent requires of its identity.
func CheckIdentity(id string) error {
	if id == "" || len(id) > maxIdentity || !strings.Contains(id, "/") {
		return ErrNoIdentity
	}
	return nil
}

// ErrNotLoopbackListen: the agent listens on 127.0.0.1 only.
var ErrNotLoopbackListen = errors.New("--listen must be 127.0.0.1:PORT")

// ParseAgentArgs reads an agent's command line (without the program name).
func ParseAgentArgs(args []string) (AgentArgs, error) {
	a := AgentArgs{Port: DefaultAgentPort, IdleTimeout: DefaultAgentIdleTimeout, TargetPID: 1}
	fs := flag.NewFlagSet("mirror-agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Func("listen", "address to listen on (127.0.0.1:PORT)", func(s string) error {
		var err error
		if a.Port, err = parseListen(s); err != nil {
			return err
		}
		return nil
	})
	fs.DurationVar(&a.IdleTimeout, "idle-timeout", a.IdleTimeout, "exit after this long with no session")
	fs.IntVar(&a.TargetPID, "target-pid", a.TargetPID, "the target container's process in this agent's PID namespace")
	fs.StringVar(&a.Key, AuthorizedKeyFlag[2:], "", "the public key of the user who may open sessions (ed25519:BASE64URL)")
	fs.StringVar(&a.Identity, IdentityFlag[2:], "", "this agent's identity, POD_UID/CONTAINER: proofs are made for it")
	fs.BoolVar(&a.Version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return a, nil
}

func parseListen(s string) (int, error) {
	const host = "127.0.0.1:"
	if len(s) <= len(host) || s[:len(host)] != host {
		return 0, ErrNotLoopbackListen
	}
	port, err := strconv.Atoi(s[len(host):])
	if err != nil || port < 1 || port > 65535 {
		return 0, ErrNotLoopbackListen
	}
	return port, nil
}

// ListenAddr is where the agent listens.
func (a AgentArgs) ListenAddr() string { return "127.0.0.1:" + strconv.Itoa(a.Port) }
