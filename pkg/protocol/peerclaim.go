package protocol

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// A claim one agent makes on another's port router (see "Between the agents
// of one pod" in the package doc) proves that a user whose key the pod spec
// vouches for makes it. The joining agent holds no key, so it asks its
// plugin (an Ask on the claim's stream) to sign; the routing agent asks its
// own plugin whether the pod spec holds an agent with that key.

// PeerChallenge is the routing agent's first frame on a joining agent's
// claim stream.
type PeerChallenge struct {
	Nonce []byte `json:"nonce"`
}

// PeerClaim answers PeerChallenge: the claim, and the user's key and
// signature of ClaimMessage over it.
type PeerClaim struct {
	Claim     Request `json:"claim"`
	Key       string  `json:"key"`
	Signature []byte  `json:"signature"`
}

// Ask is a question an agent puts to its plugin on an incoming claim's
// stream, in a Response. The plugin answers with one Answer frame.
type Ask struct {
	// Sign: sign a claim on another agent's router (the plugin fills in the
	// pod's UID itself).
	Sign *ClaimToSign `json:"sign,omitempty"`
	// Vouch: does the pod spec hold an agent started for this key?
	Vouch string `json:"vouch,omitempty"`
}

// ClaimToSign is what a joining agent asks its plugin to sign.
type ClaimToSign struct {
	Table string  `json:"table"` // the routing agent's, where the claim goes
	Nonce []byte  `json:"nonce"` // the routing agent's challenge
	Claim Request `json:"claim"`
}

// Answer is the plugin's answer to an Ask.
type Answer struct {
	Key       string `json:"key,omitempty"` // Sign: the user's public key
	Signature []byte `json:"signature,omitempty"`
	// Vouch: the agent container in the pod spec with that key ("": none).
	Agent string `json:"agent,omitempty"`
	Error string `json:"error,omitempty"`
	// Release, on a claim's stream: the plugin gives the port back (see
	// the package doc's incoming streams).
	Release bool `json:"release,omitempty"`
}

// claimContext sets claim signatures apart from every other signature.
const claimContext = "kubectl-mirror router claim v1\x00"

// ClaimMessage is what a claim's signature covers: the pod, the routing
// agent's table and challenge, and the claim itself, so a signature is good
// for one claim on one router once.
func ClaimMessage(podUID string, c ClaimToSign) []byte {
	claim, _ := json.Marshal(c.Claim)
	sum := sha256.Sum256(claim)
	m := []byte(claimContext)
	for _, f := range [][]byte{[]byte(podUID), []byte(c.Table), c.Nonce, sum[:]} {
		m = append(m, byte(len(f)>>8), byte(len(f)))
		m = append(m, f...)
	}
	return m
}

// SignClaim is the plugin's answer to a Sign ask.
func SignClaim(key ed25519.PrivateKey, podUID string, c ClaimToSign) Answer {
	return Answer{Key: EncodeKey(key.Public().(ed25519.PublicKey)), Signature: ed25519.Sign(key, ClaimMessage(podUID, c))}
}

// VerifyClaim checks a PeerClaim made for this pod, router and challenge.
func VerifyClaim(podUID, table string, nonce []byte, pc PeerClaim) (ed25519.PublicKey, bool) {
	pub, err := ParseKey(pc.Key)
	if err != nil {
		return nil, false
	}
	m := ClaimMessage(podUID, ClaimToSign{Table: table, Nonce: nonce, Claim: pc.Claim})
	return pub, ed25519.Verify(pub, m, pc.Signature)
}

// KeyFingerprint names a key in messages: "SHA256:" and 16 base64 characters.
func KeyFingerprint(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])[:16]
}
