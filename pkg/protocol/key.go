package protocol

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
)

// AuthorizedKeyFlag is the agent's flag that names the one public key it
// accepts. It is public: the pod spec that carries it grants nothing.
const AuthorizedKeyFlag = "--authorized-key"

const keyPrefix = "ed25519:"

// ErrBadKey is returned for a malformed authorized key.
var ErrBadKey = errors.New(`authorized key must be "ed25519:" and 32 bytes in unpadded base64url`)

// EncodeKey writes a public key as the agent's flag takes it.
func EncodeKey(pub ed25519.PublicKey) string {
	return keyPrefix + base64.RawURLEncoding.EncodeToString(pub)
}

// ParseKey reads a key EncodeKey wrote.
func ParseKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(s, keyPrefix)
	if !ok {
		return nil, ErrBadKey
	}
	b, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, ErrBadKey
	}
	return ed25519.PublicKey(b), nil
}
