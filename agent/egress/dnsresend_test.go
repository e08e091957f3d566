package egress

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// A DNS server that drops a query the first time: the agent sends it again
// and the program gets its answer without waiting for its own resolver's
// retry.
func TestLostDNSQueryIsSentAgain(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.53.1:53")
	if err != nil {
		t.Fatalf("stand in on a DNS port (needs root): %v", err)
	}
	defer pc.Close()
	var seen atomic.Int32
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if seen.Add(1) == 1 {
				continue // the first copy is lost
			}
			_, _ = pc.WriteTo(buf[:n], from) // the "answer": same ID
		}
	}()
	sess := session(t)
	st, resp := request(t, sess, protocol.Request{Kind: protocol.KindUDP, Address: "127.0.53.1:53"})
	if resp.Error != "" {
		t.Fatal(resp.Error)
	}
	query := []byte{0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 'x'}
	if err := protocol.WriteDatagram(st, query); err != nil {
		t.Fatal(err)
	}
	_ = st.SetReadDeadline(time.Now().Add(4 * time.Second))
	buf := make([]byte, protocol.MaxDatagram)
	n, err := protocol.ReadDatagram(st, buf)
	if err != nil || n != len(query) || buf[0] != 0xbe || buf[1] != 0xef {
		t.Fatalf("no answer to a query lost once: %q %v (the server saw %d copies)", buf[:max(n, 0)], err, seen.Load())
	}
}
