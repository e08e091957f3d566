package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"
)

// Authentication runs on the raw transport, before any smux session exists;
// the package doc describes the exchange.
const (
	// AuthTimeout bounds how long an agent waits for a connection to
	// authenticate before it closes it.
	AuthTimeout = 5 * time.Second
	authMagic   = "KMIRAUTH"
	authVersion = 2
	nonceSize   = 32
	// challengeSize: magic, auth version, nonce.
	challengeSize = len(authMagic) + 1 + nonceSize
	// proofSize: the plugin's public key and its signature of the challenge.
	proofSize = ed25519.PublicKeySize + ed25519.SignatureSize
)

// Verdict bytes the agent sends after the proof.
const (
	authAccepted byte = 0
	authRefused  byte = 1
)

// signedContext is signed together with the agent's identity and the
// nonce, so a signature made for this handshake means nothing anywhere else.
const signedContext = "kubectl-mirror agent authentication v2\x00"

// maxIdentity bounds an identity: a pod UID, a slash, a container name.
const maxIdentity = 36 + 1 + 253

// Authentication errors.
var (
	ErrNotAuthorized = errors.New("the agent does not accept this user's key")
	ErrBadChallenge  = errors.New("not a kubectl mirror agent (unexpected greeting)")
	ErrBadProof      = errors.New("authentication failed")
)

// AgentIdentity names one agent: the UID of its pod and its container's name.
// The plugin signs the identity of the agent it means to reach, and an agent
// accepts only a proof made for its own, so a proof cannot be relayed from a
// container someone else planted to the user's real agent.
func AgentIdentity(podUID, container string) string { return podUID + "/" + container }

// ClientAuth proves to the agent on rw that the plugin holds key, for the
// agent named identity. It returns ErrNotAuthorized when the agent was
// started for another key or is not that agent.
func ClientAuth(rw io.ReadWriter, key ed25519.PrivateKey, identity string) error {
	var ch [challengeSize]byte
	if _, err := io.ReadFull(rw, ch[:]); err != nil {
		return fmt.Errorf("read the agent's challenge: %w", err)
	}
	if string(ch[:len(authMagic)]) != authMagic || ch[len(authMagic)] != authVersion {
		return ErrBadChallenge
	}
	nonce := ch[len(authMagic)+1:]
	proof := make([]byte, 0, proofSize)
	proof = append(proof, key.Public().(ed25519.PublicKey)...)
	proof = append(proof, ed25519.Sign(key, signedMessage(identity, nonce))...)
	if _, err := rw.Write(proof); err != nil {
		return fmt.Errorf("send the proof: %w", err)
	}
	var verdict [1]byte
	if _, err := io.ReadFull(rw, verdict[:]); err != nil {
		return fmt.Errorf("read the agent's verdict: %w", err)
	}
	if verdict[0] != authAccepted {
		return ErrNotAuthorized
	}
	return nil
}

// ServerAuth challenges the peer on rw and accepts it only if it signs the
// challenge, for this agent's identity, with one of keys. It reads and
// writes a fixed, small number of bytes, so an unauthenticated peer costs
// next to nothing. The caller bounds its time (a deadline of AuthTimeout on
// the connection).
func ServerAuth(rw io.ReadWriter, keys []ed25519.PublicKey, identity string) (ed25519.PublicKey, error) {
	var ch [challengeSize]byte
	copy(ch[:], authMagic)
	ch[len(authMagic)] = authVersion
	nonce := ch[len(authMagic)+1:]
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	if _, err := rw.Write(ch[:]); err != nil {
		return nil, err
	}
	var proof [proofSize]byte
	if _, err := io.ReadFull(rw, proof[:]); err != nil {
		return nil, fmt.Errorf("read proof: %w", err)
	}
	pub := ed25519.PublicKey(proof[:ed25519.PublicKeySize])
	sig := proof[ed25519.PublicKeySize:]
	if !authorized(keys, pub) || !ed25519.Verify(pub, signedMessage(identity, nonce), sig) {
		_, _ = rw.Write([]byte{authRefused})
		return nil, ErrBadProof
	}
	if _, err := rw.Write([]byte{authAccepted}); err != nil {
		return nil, err
	}
	return bytes.Clone(pub), nil
}

func authorized(keys []ed25519.PublicKey, pub ed25519.PublicKey) bool {
	for _, k := range keys {
		if k.Equal(pub) {
			return true
		}
	}
	return false
}

// signedMessage is the context, the identity (length first, so no two
// identities and nonces make the same bytes) and the nonce.
func signedMessage(identity string, nonce []byte) []byte {
	m := []byte(signedContext)
	m = append(m, byte(len(identity)>>8), byte(len(identity)))
	m = append(m, identity...)
	return append(m, nonce...)
}
