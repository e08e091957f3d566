package protocol

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// Handshake errors the plugin can tell apart.
var (
	ErrWrongSecret     = errors.New("agent refused the session secret")
	ErrVersionMismatch = errors.New("agent speaks another protocol version")
)

// Refusal texts, as the agent sends them in Welcome.Error.
const (
	refusedSecret  = "wrong secret"
	refusedVersion = "protocol version mismatch"
)

// ClientHandshake runs the plugin's side on the control stream.
func ClientHandshake(rw io.ReadWriter, pluginVersion, secret string) (Welcome, error) {
	if err := Write(rw, Hello{Version: Version, PluginVersion: pluginVersion, Secret: secret}); err != nil {
		return Welcome{}, fmt.Errorf("send hello: %w", err)
	}
	var w Welcome
	if err := Read(rw, &w); err != nil {
		return Welcome{}, fmt.Errorf("read welcome: %w", err)
	}
	switch w.Error {
	case "":
		return w, nil
	case refusedSecret:
		return w, ErrWrongSecret
	case refusedVersion:
		return w, fmt.Errorf("%w: agent %s speaks version %d, this plugin %d", ErrVersionMismatch, w.AgentVersion, w.Version, Version)
	default:
		return w, fmt.Errorf("agent refused the session: %s", w.Error)
	}
}

// ServerHandshake runs the agent's side: it checks the secret, then the
// version, and answers. A non-nil error means the session must be closed.
func ServerHandshake(rw io.ReadWriter, agentVersion, secret string) (Hello, error) {
	var h Hello
	if err := Read(rw, &h); err != nil {
		return h, fmt.Errorf("read hello: %w", err)
	}
	w := Welcome{Version: Version, AgentVersion: agentVersion}
	var err error
	switch {
	case subtle.ConstantTimeCompare([]byte(h.Secret), []byte(secret)) != 1:
		// Say nothing about versions to a client without the secret.
		w = Welcome{Error: refusedSecret}
		err = ErrWrongSecret
	case h.Version != Version:
		w.Error, err = refusedVersion, ErrVersionMismatch
	}
	if werr := Write(rw, w); werr != nil && err == nil {
		err = fmt.Errorf("send welcome: %w", werr)
	}
	return h, err
}
