package session

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"

	"github.com/xtaci/smux"
)

// ErrLinkLost ends the streams of a link whose transport failed. smux reports
// a transport that ended cleanly as io.EOF on every stream, which a copy loop
// would take for the peer's orderly close; this says the data was cut short.
var ErrLinkLost = errors.New("connection to the agent lost")

// Stream is one request's stream on a link.
type Stream struct {
	*smux.Stream
	link *Link
	// Local is a dialed connection's pod-side local address (invalid when
	// the agent did not say).
	Local netip.AddrPort
}

// Read is smux's, except that the end of a lost link is ErrLinkLost, not EOF.
func (s *Stream) Read(b []byte) (int, error) {
	n, err := s.Stream.Read(b)
	// Once the link is replaced its smux session is closed too, and smux then
	// says io.ErrClosedPipe: the same loss.
	if (err == io.EOF || errors.Is(err, io.ErrClosedPipe)) && s.link.transport.isDead() {
		return n, ErrLinkLost
	}
	return n, err
}

// WriteTo hides smux's own WriteTo so io.Copy reads through Read above.
func (s *Stream) WriteTo(w io.Writer) (int64, error) {
	return io.Copy(w, struct{ io.Reader }{s})
}

// transport is the link's connection, noting the moment it fails or closes
// (smux itself only notices a dead connection at its next keepalive).
type transport struct {
	net.Conn
	once sync.Once
	dead chan struct{}
}

func newTransport(c net.Conn) *transport { return &transport{Conn: c, dead: make(chan struct{})} }

func (t *transport) Read(b []byte) (int, error) {
	n, err := t.Conn.Read(b)
	if err != nil {
		t.markDead()
	}
	return n, err
}

func (t *transport) Write(b []byte) (int, error) {
	n, err := t.Conn.Write(b)
	if err != nil {
		t.markDead()
	}
	return n, err
}

func (t *transport) Close() error {
	t.markDead()
	return t.Conn.Close()
}

func (t *transport) markDead() { t.once.Do(func() { close(t.dead) }) }

func (t *transport) isDead() bool {
	select {
	case <-t.dead:
		return true
	default:
		return false
	}
}
