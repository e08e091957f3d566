package incoming

import (
	"errors"
	"time"

	"github.com/xtaci/smux"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// openWith opens a stream on sess for a connection: its header, then (for
// a steal) the other side's word that the program took it, then bytes. A
// program that no longer listens says no, and the caller gives the
// connection to the pod's app instead: nothing was read from it yet.
func openWith(sess *smux.Session, hdr protocol.IncomingConn) (netpipe.HalfCloser, error) {
	st, err := sess.OpenStream()
	if err != nil {
		return nil, err
	}
	if err := protocol.Write(st, hdr); err != nil {
		st.Close()
		return nil, err
	}
	if hdr.Mode == protocol.ModeMirror {
		return st, nil
	}
	_ = st.SetReadDeadline(time.Now().Add(deliverWait))
	taken, err := protocol.ReadDelivered(st)
	_ = st.SetReadDeadline(time.Time{})
	if err != nil || !taken {
		st.Close()
		return nil, errNotDelivered
	}
	return st, nil
}

// deliverWait bounds how long a connection waits for the program's side
// to say it took it; past it the pod's app serves it.
const deliverWait = 5 * time.Second

// errNotDelivered: the program did not take the connection (it stopped
// listening); the pod's app gets it.
var errNotDelivered = errors.New("the program did not take the connection")
