// Command peerclaim attacks the agents' port routers the way any process in
// a pod's network namespace could (a sidecar, the app itself): it finds the
// agents' abstract sockets in /proc/net/unix and makes claims on them with
// a key of its own, then holds connections open without claiming. The
// end-to-end tests run it in the target pod's network namespace as an
// unprivileged user and read its report.
//
//	peerclaim PORT POD_UID   claim PORT (join with a catch-all filter, take
//	                         over, mirror) on every agent's socket, signed
//	                         for the pod (its UID is no secret), then open
//	                         300 and count how many the agents closed within 10 s
package main

import (
	"bufio"
	"crypto/ed25519"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xtaci/smux"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: peerclaim PORT POD_UID")
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerclaim:", err)
		os.Exit(2)
	}
	sockets := agentSockets()
	fmt.Printf("sockets: %d\n", len(sockets))
	_, key, _ := ed25519.GenerateKey(nil)
	claims := map[string]protocol.Request{
		"join": {Kind: protocol.KindIncoming, Port: port, Mode: protocol.ModeSteal, Session: "attacker", Holder: "ATTACKER",
			Filters: []protocol.HTTPFilter{{Kind: "header", Name: "x-user", Pattern: ".*"}}},
		"takeover": {Kind: protocol.KindIncoming, Port: port, Mode: protocol.ModeSteal, Session: "attacker", Holder: "ATTACKER", Takeover: true},
		"mirror":   {Kind: protocol.KindIncoming, Port: port, Mode: protocol.ModeMirror, Session: "attacker", Holder: "ATTACKER"},
	}
	for _, sock := range sockets {
		for name, claim := range claims {
			fmt.Printf("claim %s: %s\n", name, tryClaim(sock, key, os.Args[2], claim))
		}
	}
	if len(sockets) > 0 {
		fmt.Printf("half-open: %d of 300 closed\n", halfOpen(sockets[0], 300))
	}
}

// agentSockets lists the agents' abstract sockets in this network namespace.
func agentSockets() []string {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		return nil
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 8 || !strings.HasPrefix(fields[7], "@kubectl-mirror/") || seen[fields[7]] {
			continue
		}
		seen[fields[7]] = true
		out = append(out, fields[7])
	}
	return out
}

// tryClaim makes claim on sock, signed with key for the router's challenge,
// and says what came back: "refused: ..." or "ACCEPTED".
func tryClaim(sock string, key ed25519.PrivateKey, podUID string, claim protocol.Request) string {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return "no connection: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	sess, err := smux.Client(c, protocol.SmuxConfig())
	if err != nil {
		return "refused: " + err.Error()
	}
	defer sess.Close()
	st, err := sess.OpenStream()
	if err != nil {
		return "refused: " + err.Error()
	}
	var ch protocol.PeerChallenge
	_ = st.SetReadDeadline(time.Now().Add(time.Second))
	if err := protocol.Read(st, &ch); err != nil {
		// A router that asks for no proof takes the bare claim.
		_ = st.SetReadDeadline(time.Time{})
		return answer(st, claim)
	}
	_ = st.SetReadDeadline(time.Time{})
	table := strings.TrimPrefix(sock, "@kubectl-mirror/")
	a := protocol.SignClaim(key, podUID, protocol.ClaimToSign{Table: table, Nonce: ch.Nonce, Claim: claim})
	return answer(st, protocol.PeerClaim{Claim: claim, Key: a.Key, Signature: a.Signature})
}

// answer sends msg and reads the router's answer to it.
func answer(st *smux.Stream, msg any) string {
	if err := protocol.Write(st, msg); err != nil {
		return "refused: " + err.Error()
	}
	var resp protocol.Response
	if err := protocol.Read(st, &resp); err != nil {
		return "refused: closed: " + err.Error()
	}
	if resp.Error != "" {
		return "refused: " + resp.Error
	}
	return "ACCEPTED"
}

// halfOpen opens n connections that never claim and counts those the agent
// closed within 10 s.
func halfOpen(sock string, n int) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	closed := 0
	for i := 0; i < n; i++ {
		c, err := net.Dial("unix", sock)
		if err != nil {
			mu.Lock()
			closed++ // refused at once counts as closed
			mu.Unlock()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
						mu.Lock()
						closed++
						mu.Unlock()
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	return closed
}
