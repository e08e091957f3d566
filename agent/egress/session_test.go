package egress

import (
	"net"
	"testing"

	"github.com/xtaci/smux"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// session returns a session whose other end serves each request stream
// as the agent does.
func session(t *testing.T) *smux.Session {
	t.Helper()
	a, b := net.Pipe()
	server, err := smux.Server(a, protocol.SmuxConfig())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := smux.Client(b, protocol.SmuxConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close(); server.Close() })
	go func() {
		for {
			st, err := server.AcceptStream()
			if err != nil {
				return
			}
			go serve(st)
		}
	}()
	return sess
}

// serve answers one request stream and closes it.
func serve(st *smux.Stream) {
	defer st.Close()
	var req protocol.Request
	if protocol.Read(st, &req) != nil {
		return
	}
	switch req.Kind {
	case protocol.KindDial:
		ServeDial(st, req)
	case protocol.KindUDP:
		ServeUDP(st, req)
	}
}

func request(t *testing.T, sess *smux.Session, req protocol.Request) (*smux.Stream, protocol.Response) {
	t.Helper()
	st, err := sess.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	if err := protocol.Write(st, req); err != nil {
		t.Fatal(err)
	}
	var resp protocol.Response
	if err := protocol.Read(st, &resp); err != nil {
		t.Fatal(err)
	}
	return st, resp
}
