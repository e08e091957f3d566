package protocol

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"net"
	"testing"
)

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testIdentity is the agent the tests' plugin means to reach.
var testIdentity = AgentIdentity("5f0c-uid", "mirror-agent-abc123")

func pub(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// auth runs both sides over a pipe.
func auth(t *testing.T, client ed25519.PrivateKey, allowed ...ed25519.PublicKey) (who ed25519.PublicKey, clientErr, serverErr error) {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		var err error
		who, err = ServerAuth(s, allowed, testIdentity)
		s.Close() // the agent hangs up on a refused peer
		done <- err
	}()
	clientErr = ClientAuth(c, client, testIdentity)
	serverErr = <-done
	return who, clientErr, serverErr
}

func TestAuthAcceptsOnlyTheAuthorizedKey(t *testing.T) {
	alice, mallory := newKey(t), newKey(t)
	who, cerr, serr := auth(t, alice, pub(alice))
	if cerr != nil || serr != nil || !who.Equal(pub(alice)) {
		t.Fatalf("authorized key: client %v, server %v", cerr, serr)
	}
	_, cerr, serr = auth(t, mallory, pub(alice))
	if !errors.Is(cerr, ErrNotAuthorized) || !errors.Is(serr, ErrBadProof) {
		t.Fatalf("another key: client %v, server %v", cerr, serr)
	}
}

// A peer that names the authorized key but cannot sign with it (it read the
// key from the pod spec) is refused.
func TestAuthRefusesAStolenPublicKey(t *testing.T) {
	alice, mallory := newKey(t), newKey(t)
	c, s := net.Pipe()
	defer c.Close()
	done := make(chan error, 1)
	go func() { _, err := ServerAuth(s, []ed25519.PublicKey{pub(alice)}, testIdentity); s.Close(); done <- err }()
	ch := make([]byte, challengeSize)
	if _, err := io.ReadFull(c, ch); err != nil {
		t.Fatal(err)
	}
	forged := append(append([]byte{}, pub(alice)...), ed25519.Sign(mallory, signedMessage(testIdentity, ch[len(authMagic)+1:]))...)
	if _, err := c.Write(forged); err != nil {
		t.Fatal(err)
	}
	var v [1]byte
	_, _ = io.ReadFull(c, v[:])
	if err := <-done; !errors.Is(err, ErrBadProof) || v[0] != authRefused {
		t.Fatalf("forged proof: server %v, verdict %d", err, v[0])
	}
}

// A replayed proof fails: each connection gets a fresh nonce.
func TestAuthProofCannotBeReplayed(t *testing.T) {
	alice := newKey(t)
	var recorded []byte
	c, s := net.Pipe()
	go func() { _, _ = ServerAuth(s, []ed25519.PublicKey{pub(alice)}, testIdentity); s.Close() }()
	rec := &recorder{rw: c}
	if err := ClientAuth(rec, alice, testIdentity); err != nil {
		t.Fatal(err)
	}
	recorded = rec.sent.Bytes()
	c.Close()

	c2, s2 := net.Pipe()
	defer c2.Close()
	done := make(chan error, 1)
	go func() {
		_, err := ServerAuth(s2, []ed25519.PublicKey{pub(alice)}, testIdentity)
		s2.Close()
		done <- err
	}()
	if _, err := io.ReadFull(c2, make([]byte, challengeSize)); err != nil {
		t.Fatal(err)
	}
	_, _ = c2.Write(recorded)
	var v [1]byte
	_, _ = io.ReadFull(c2, v[:])
	if err := <-done; !errors.Is(err, ErrBadProof) || v[0] != authRefused {
		t.Fatalf("replayed proof: %v", err)
	}
}

func TestClientRefusesAStranger(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	go func() { _, _ = s.Write(bytes.Repeat([]byte{'x'}, challengeSize)); s.Close() }()
	if err := ClientAuth(c, newKey(t), testIdentity); !errors.Is(err, ErrBadChallenge) {
		t.Fatalf("got %v", err)
	}
}

func TestKeyRoundTrip(t *testing.T) {
	k := pub(newKey(t))
	got, err := ParseKey(EncodeKey(k))
	if err != nil || !got.Equal(k) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "ed25519:", "rsa:AAAA", "ed25519:" + EncodeKey(k)[9:20]} {
		if _, err := ParseKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKey(%q) = %v", bad, err)
		}
	}
}

type recorder struct {
	rw   io.ReadWriter
	sent bytes.Buffer
}

func (r *recorder) Read(b []byte) (int, error) { return r.rw.Read(b) }
func (r *recorder) Write(b []byte) (int, error) {
	r.sent.Write(b)
	return r.rw.Write(b)
}

// peer is a scripted client: what it sends is the fuzz input.
type peer struct {
	in  *bytes.Reader
	out bytes.Buffer
}

func (p *peer) Read(b []byte) (int, error)  { return p.in.Read(b) }
func (p *peer) Write(b []byte) (int, error) { return p.out.Write(b) }

// FuzzServerAuth: whatever a peer sends, the agent never panics, never
// accepts without a signature made with the authorized key, and never
// writes more than its challenge and one verdict byte.
func FuzzServerAuth(f *testing.F) {
	k := newKey(f)
	f.Add(make([]byte, proofSize))
	f.Add(append(append([]byte{}, pub(k)...), make([]byte, ed25519.SignatureSize)...))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, b []byte) {
		p := &peer{in: bytes.NewReader(b)}
		if _, err := ServerAuth(p, []ed25519.PublicKey{pub(k)}, testIdentity); err == nil {
			t.Fatalf("accepted %x", b)
		}
		if p.out.Len() > challengeSize+1 {
			t.Fatalf("agent wrote %d bytes to an unauthenticated peer", p.out.Len())
		}
	})
}

// A proof made for one agent is refused by another agent of the same user:
// a planted agent that relays the user's connection to the real one (it
// names itself to the plugin, the real agent names itself to the relay)
// gets nothing.
func TestAuthRefusesAProofMadeForAnotherAgent(t *testing.T) {
	alice := newKey(t)
	c, s := net.Pipe()
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := ServerAuth(s, []ed25519.PublicKey{pub(alice)}, AgentIdentity("5f0c-uid", "mirror-agent-real"))
		s.Close()
		done <- err
	}()
	cerr := ClientAuth(c, alice, AgentIdentity("5f0c-uid", "mirror-agent-planted"))
	if serr := <-done; !errors.Is(cerr, ErrNotAuthorized) || !errors.Is(serr, ErrBadProof) {
		t.Fatalf("a proof for another agent: client %v, server %v", cerr, serr)
	}
	// Identities are length-prefixed: moving bytes between the identity
	// and the nonce cannot make one signature fit another identity.
	if bytes.Equal(signedMessage("a/b", []byte("cnonce")), signedMessage("a/bc", []byte("nonce"))) {
		t.Fatal("two identities and nonces sign the same bytes")
	}
}
