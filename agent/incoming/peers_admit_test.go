package incoming

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/xtaci/smux"
	"go.uber.org/zap/zaptest"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// routerForPeers serves the peer socket of an agent that routes port (for
// no session yet), trusting bob's key as an agent of the pod. It returns
// the socket's name.
func routerForPeers(t *testing.T, port int, bob ed25519.PrivateKey) (string, *Ports) {
	t.Helper()
	table := fmt.Sprintf("kmirror_test_%d_%d", time.Now().UnixNano(), port)
	pt := newPorts(zaptest.NewLogger(t), &redirects{name: table}, noActivity{})
	pt.trust = newPeerTrust("uid-1/mirror-agent-alice", []ed25519.PublicKey{newTestKey(t).Public().(ed25519.PublicKey)})
	pt.trust.vouched[protocol.EncodeKey(bob.Public().(ed25519.PublicKey))] = "mirror-agent-bob"
	// alice's own mirror holds the port, so a peer leaving never removes
	// the (here nonexistent) redirect.
	pt.routers[port] = &portRouter{port: port, subs: []*subscriber{{session: "alice", mode: protocol.ModeMirror}}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go pt.ServePeers(ctx)
	// The listener is up once a dial succeeds.
	testenv.Eventually(t, 10*time.Second, func() bool {
		c, err := net.Dial("unix", peerSocket(table))
		if err == nil {
			c.Close()
		}
		return err == nil
	}, func() string { return "the peer socket " + peerSocket(table) + " never took a connection" })
	return table, pt
}

// claimAs dials the router's socket and claims port, signing with key for
// podUID (the signature a plugin would make), and returns the router's answer.
func claimAs(t *testing.T, table string, key ed25519.PrivateKey, podUID string, claim protocol.Request) protocol.Response {
	t.Helper()
	c, err := net.Dial("unix", peerSocket(table))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	sess, err := smux.Client(c, protocol.SmuxConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctl, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	_ = ctl.SetDeadline(time.Now().Add(10 * time.Second))
	var ch protocol.PeerChallenge
	if err := protocol.Read(ctl, &ch); err != nil {
		t.Fatalf("no challenge: %v", err)
	}
	a := protocol.SignClaim(key, podUID, protocol.ClaimToSign{Table: table, Nonce: ch.Nonce, Claim: claim})
	if err := protocol.Write(ctl, protocol.PeerClaim{Claim: claim, Key: a.Key, Signature: a.Signature}); err != nil {
		t.Fatal(err)
	}
	var resp protocol.Response
	if err := protocol.Read(ctl, &resp); err != nil {
		t.Fatalf("no answer: %v", err)
	}
	return resp
}

func TestRouterAdmitsOnlyClaimsSignedByAVouchedKey(t *testing.T) {
	bob, mallory := newTestKey(t), newTestKey(t)
	table, pt := routerForPeers(t, 8080, bob)
	claim := protocol.Request{Kind: protocol.KindIncoming, Port: 8080, Mode: protocol.ModeMirror, Session: "s1",
		Holder: "alice on her laptop"}

	// A key no agent of the pod carries: refused, whatever it claims to be.
	if resp := claimAs(t, table, mallory, "uid-1", claim); !strings.Contains(resp.Error, "claim refused") {
		t.Fatalf("an unvouched key's claim: %+v", resp)
	}
	// bob's key, but signed for another pod: refused.
	if resp := claimAs(t, table, bob, "uid-2", claim); !strings.Contains(resp.Error, "claim refused") {
		t.Fatalf("a claim signed for another pod: %+v", resp)
	}
	if subs := pt.routers[8080].current(); len(subs) != 1 {
		t.Fatalf("refused claims joined: %d sessions", len(subs))
	}
	// bob's own claim is admitted, and named by his verified key, not by
	// the words in the claim.
	if resp := claimAs(t, table, bob, "uid-1", claim); resp.Error != "" {
		t.Fatalf("bob's claim: %+v", resp)
	}
	subs := pt.routers[8080].current()
	if len(subs) != 2 || strings.Contains(subs[1].holder, "alice") || !strings.Contains(subs[1].holder, "mirror-agent-bob") {
		t.Fatalf("holder of bob's claim: %+v", subs)
	}
}

// Connections that never finish a claim are closed, and at most a few are
// held at a time.
func TestRouterClosesHalfOpenClaims(t *testing.T) {
	table, _ := routerForPeers(t, 8081, newTestKey(t))
	var conns []net.Conn
	for i := 0; i < 300; i++ {
		c, err := net.Dial("unix", peerSocket(table))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("half-open claim %d still open", i)
				}
				break
			}
		}
	}
}

// noActivity stands for the agent's idle timer.
type noActivity struct{}

func (noActivity) Begin() {}
func (noActivity) End()   {}

func newTestKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Processes of the pod that hold connections open without claiming fill
// their own queue, not the agents': an agent (this binary) still gets its
// challenge while 20 others hold theirs.
func TestStrangersHoldingClaimsDoNotStarveAgents(t *testing.T) {
	table, _ := routerForPeers(t, 8082, newTestKey(t))
	hold := `import socket, sys, time
s = []
for i in range(20):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect("\0" + sys.argv[1])
    s.append(c)
print("held", flush=True)
time.sleep(30)
`
	cmd := exec.Command("/usr/bin/python3", "-c", hold, peerSocket(table)[1:])
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make([]byte, 5)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "held\n" {
		t.Fatalf("the strangers did not connect: %q %v", line, err)
	}
	c, err := net.Dial("unix", peerSocket(table))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := smux.Client(c, protocol.SmuxConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	_ = st.SetReadDeadline(time.Now().Add(time.Second)) // well within the strangers' 2 s hold
	var ch protocol.PeerChallenge
	if err := protocol.Read(st, &ch); err != nil || len(ch.Nonce) != 32 {
		t.Fatalf("an agent got no challenge while strangers held the socket: %v", err)
	}
	// An unsigned claim is refused; once the answer is here the router has
	// logged the refusal, so it does not log after the test has ended.
	if err := protocol.Write(st, protocol.PeerClaim{}); err != nil {
		t.Fatal(err)
	}
	var resp protocol.Response
	if err := protocol.Read(st, &resp); err != nil || resp.Error == "" {
		t.Fatalf("an unsigned claim: %+v %v, want it refused", resp, err)
	}
}
