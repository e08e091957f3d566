package egress

import (
	"bytes"
	"net"
	"runtime"
	"testing"
	"time"

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

// TestUDPFlowEndsWithItsStream: closing the flow's stream ends both of the
// agent's loops (a reader left spinning on the closed socket burned the
// agent's CPU), and an ICMP port unreachable does not end a flow.
func TestUDPFlowEndsWithItsStream(t *testing.T) {
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.LocalAddr().String()
	closed.Close() // nothing listens there: sends draw ICMP port unreachable
	sess := session(t)
	settle := func() int { time.Sleep(100 * time.Millisecond); return runtime.NumGoroutine() }
	before := settle()
	st, resp := request(t, sess, protocol.Request{Kind: protocol.KindUDP, Address: closedAddr})
	if resp.Error != "" {
		t.Fatal(resp.Error)
	}
	for i := 0; i < 3; i++ {
		if err := protocol.WriteDatagram(st, []byte("ping")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if settle() <= before {
		t.Fatal("the flow ended on an ICMP port unreachable")
	}
	st.Close()
	deadline := time.Now().Add(5 * time.Second)
	for settle() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after the flow's stream closed, %d before it", runtime.NumGoroutine(), before)
		}
	}
}
