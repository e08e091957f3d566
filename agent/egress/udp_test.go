package egress

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

func TestUDPRelaysDatagrams(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 100)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(bytes.ToUpper(buf[:n]), from)
		}
	}()
	sess := session(t)
	st, resp := request(t, sess, protocol.Request{Kind: protocol.KindUDP, Address: pc.LocalAddr().String()})
	if resp.Error != "" {
		t.Fatal(resp.Error)
	}
	buf := make([]byte, protocol.MaxDatagram)
	for _, msg := range []string{"one", "two"} {
		if err := protocol.WriteDatagram(st, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		n, err := protocol.ReadDatagram(st, buf)
		if err != nil || string(buf[:n]) != string(bytes.ToUpper([]byte(msg))) {
			t.Fatalf("got %q %v", buf[:n], err)
		}
	}
}

// TestUDPFlowEndsWithItsStream: an ICMP port unreachable does not end a
// flow, and closing the flow's stream ends both of the agent's loops (a
// reader left spinning on the closed socket burned the agent's CPU).
func TestUDPFlowEndsWithItsStream(t *testing.T) {
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.LocalAddr().String()
	closed.Close() // nothing listens there: sends draw ICMP port unreachable
	sess := session(t)
	before := settledGoroutines(t)
	st, resp := request(t, sess, protocol.Request{Kind: protocol.KindUDP, Address: closedAddr})
	if resp.Error != "" {
		t.Fatal(resp.Error)
	}
	// Three pings to the closed port, each once the last one's ICMP port
	// unreachable is in, so the agent's reader, woken by it, reads the error
	// (a send that finds it pending returns it instead and sends nothing: a
	// ping is sent again until one draws its ICMP).
	for i := 0; i < 3; i++ {
		seen := icmpUnreachables(t)
		testenv.Eventually(t, 10*time.Second, func() bool {
			if icmpUnreachables(t) > seen {
				return true
			}
			_ = protocol.WriteDatagram(st, []byte("ping"))
			return false
		}, func() string { return "the pings to a closed port drew no ICMP port unreachable" })
	}
	// With the port listening again, the flow still carries datagrams there
	// (a send may still return the error instead: send until one arrives)
	// and the answer back.
	back, err := net.ListenPacket("udp", closedAddr)
	if err != nil {
		testenv.Skip(t, "could not take the freed port back: "+err.Error())
	}
	defer back.Close()
	buf := make([]byte, protocol.MaxDatagram)
	var from net.Addr
	testenv.Eventually(t, 10*time.Second, func() bool {
		if protocol.WriteDatagram(st, []byte("again")) != nil {
			return false
		}
		_ = back.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			n, addr, err := back.ReadFrom(buf)
			if err != nil {
				return false
			}
			if string(buf[:n]) == "again" {
				from = addr
				return true
			}
		}
	}, func() string { return "the flow ended on an ICMP port unreachable: nothing reaches the port since" })
	if _, err := back.WriteTo([]byte("answer"), from); err != nil {
		t.Fatal(err)
	}
	_ = st.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := protocol.ReadDatagram(st, buf); err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("the flow ended on an ICMP port unreachable: got %q, %v", buf[:n], err)
	}
	st.Close()
	testenv.Eventually(t, 10*time.Second, func() bool { return runtime.NumGoroutine() <= before },
		func() string {
			return fmt.Sprintf("%d goroutines after the flow's stream closed, %d before it", runtime.NumGoroutine(), before)
		})
}

// settledGoroutines counts this process's goroutines once the count holds
// still (those of earlier tests have ended).
func settledGoroutines(t *testing.T) int {
	t.Helper()
	last := -1
	testenv.Eventually(t, 10*time.Second, func() bool {
		n := runtime.NumGoroutine()
		settled := n == last
		last = n
		return settled
	}, func() string { return "the number of goroutines never held still" })
	return last
}

// icmpUnreachables is how many ICMP destination unreachables this network
// namespace has received (InDestUnreachs in /proc/net/snmp).
func icmpUnreachables(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		testenv.Skip(t, "no ICMP counters: "+err.Error())
	}
	var names []string
	for line := range strings.Lines(string(b)) {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "Icmp:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		if i := slices.Index(names, "InDestUnreachs"); i > 0 && i < len(fields) {
			n, err := strconv.Atoi(fields[i])
			if err == nil {
				return n
			}
		}
		break
	}
	t.Fatalf("no Icmp InDestUnreachs in /proc/net/snmp:\n%s", b)
	return 0
}
