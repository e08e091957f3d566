// Package userkey keeps the user's kubectl mirror key pair: the private key
// that proves to an agent that this user started it. It is created on first
// use, readable only by the user, and shared by every run of that user.
package userkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileName is the key's name in the config directory.
const FileName = "agent-key.pem"

// ErrLoosePermissions: the key file can be read by others.
var ErrLoosePermissions = errors.New("key file is readable by other users")

// DefaultPath is $XDG_CONFIG_HOME/kubectl-mirror/agent-key.pem, else
// ~/.config/kubectl-mirror/agent-key.pem.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no place for the user's key: set HOME or XDG_CONFIG_HOME (%w)", err)
	}
	return filepath.Join(dir, "kubectl-mirror", FileName), nil
}

// LoadOrCreate reads the key at path, creating it (mode 0600, its directory
// 0700) when there is none. Concurrent first runs all end up with the same
// key: the file appears whole, once.
func LoadOrCreate(path string) (ed25519.PrivateKey, error) {
	k, err := load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if err := create(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return load(path)
}

// Load reads the key at path and never creates one (an error wrapping
// fs.ErrNotExist when there is none).
func Load(path string) (ed25519.PrivateKey, error) { return load(path) }

func load(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s: %w: run chmod 600 %s", path, ErrLoosePermissions, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM private key: remove it and a new one is made", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	k, ok := parsed.(ed25519.PrivateKey)
	if err != nil || !ok {
		return nil, fmt.Errorf("%s: not an ed25519 key: remove it and a new one is made", path)
	}
	return k, nil
}

// create writes a new key beside path and links it into place, so a reader
// never sees half a file and a concurrent creator loses cleanly (ErrExist).
func create(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".agent-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}
