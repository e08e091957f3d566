package protocol

import (
	"errors"
	"fmt"
	"io"
)

// ErrVersionMismatch: the agent speaks another protocol version.
var ErrVersionMismatch = errors.New("agent speaks another protocol version")

// refusedVersion is the refusal text the agent sends in Welcome.Error.
const refusedVersion = "protocol version mismatch"

// ClientHandshake runs the plugin's side on the control stream.
func ClientHandshake(rw io.ReadWriter, pluginVersion string) (Welcome, error) {
	if err := Write(rw, Hello{Version: Version, PluginVersion: pluginVersion}); err != nil {
		return Welcome{}, fmt.Errorf("send hello: %w", err)
	}
	var w Welcome
	if err := Read(rw, &w); err != nil {
		return Welcome{}, fmt.Errorf("read welcome: %w", err)
	}
	switch w.Error {
	case "":
		return w, nil
	case refusedVersion:
		return w, fmt.Errorf("%w: agent %s speaks version %d, this plugin %d", ErrVersionMismatch, w.AgentVersion, w.Version, Version)
	default:
		return w, fmt.Errorf("agent refused the session: %s", w.Error)
	}
}

// ServerHandshake runs the agent's side on an authenticated session: it
// checks the version and answers. A non-nil error means the session must be
// closed.
func ServerHandshake(rw io.ReadWriter, agentVersion, domainname string) (Hello, error) {
	var h Hello
	if err := Read(rw, &h); err != nil {
		return h, fmt.Errorf("read hello: %w", err)
	}
	w := Welcome{Version: Version, AgentVersion: agentVersion, Domainname: domainname}
	var err error
	if h.Version != Version {
		w.Error, err = refusedVersion, ErrVersionMismatch
	}
	if werr := Write(rw, w); werr != nil && err == nil {
		err = fmt.Errorf("send welcome: %w", werr)
	}
	return h, err
}
