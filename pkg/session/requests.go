package session

import (
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/xtaci/smux"
	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// RemoteError is a failure the agent reported, with the errno a program in
// the pod would have seen (0 when it names none).
type RemoteError struct {
	Errno unix.Errno
	Msg   string
}

func (e *RemoteError) Error() string { return "agent: " + e.Msg }

// open starts a request stream and reads the agent's answer; on success the
// stream stays open for the caller.
func (s *Session) open(req protocol.Request) (*smux.Stream, protocol.Response, error) {
	st, err := s.stream()
	if err != nil {
		return nil, protocol.Response{}, fmt.Errorf("open %s stream: %w", req.Kind, err)
	}
	if err := protocol.Write(st, req); err != nil {
		st.Close()
		return nil, protocol.Response{}, err
	}
	var resp protocol.Response
	if err := protocol.Read(st, &resp); err != nil {
		st.Close()
		return nil, resp, fmt.Errorf("%s request: %w", req.Kind, err)
	}
	if resp.Error != "" {
		st.Close()
		return nil, resp, &RemoteError{Errno: protocol.Errno(resp.Errno), Msg: resp.Error}
	}
	return st, resp, nil
}

// stream opens a stream on the current link. A link that turns out to be
// dead is given up and the stream opened on the next one.
func (s *Session) stream() (*smux.Stream, error) {
	for {
		l, err := s.link()
		if err != nil {
			return nil, err
		}
		st, err := l.smux.OpenStream()
		if err == nil {
			return st, nil
		}
		// Every OpenStream failure (closed session, failed write of the SYN,
		// stream ids exhausted) means this link is of no more use.
		s.lost(l)
	}
}

// Dial connects to addr from the pod; the stream is the connection.
func (s *Session) Dial(addr netip.AddrPort, timeout time.Duration) (*smux.Stream, error) {
	st, _, err := s.open(protocol.Request{Kind: protocol.KindDial, Address: addr.String(), Timeout: timeout.Milliseconds()})
	return st, err
}

// UDP opens a datagram flow to addr from the pod.
func (s *Session) UDP(addr netip.AddrPort) (*smux.Stream, error) {
	st, _, err := s.open(protocol.Request{Kind: protocol.KindUDP, Address: addr.String()})
	return st, err
}

// File reads a file as the target container sees it.
func (s *Session) File(path string) ([]byte, uint32, error) {
	st, resp, err := s.open(protocol.Request{Kind: protocol.KindFile, Path: path})
	if err != nil {
		return nil, 0, err
	}
	st.Close()
	return resp.Data, resp.Mode, nil
}

// Tree reads path and everything under it as the target container sees it,
// calling fn for each entry; a file's content is in r (exactly Size bytes).
func (s *Session) Tree(path string, fn func(e protocol.TreeEntry, r io.Reader) error) error {
	st, _, err := s.open(protocol.Request{Kind: protocol.KindTree, Path: path})
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		var e protocol.TreeEntry
		if err := protocol.Read(st, &e); err != nil {
			return fmt.Errorf("tree %s: %w", path, err)
		}
		if e.End {
			if e.Error != "" {
				return fmt.Errorf("tree %s: agent: %s", path, e.Error)
			}
			return nil
		}
		body := io.LimitReader(st, e.Size)
		if err := fn(e, body); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, body); err != nil { // whatever fn left unread
			return err
		}
	}
}

// Incoming asks the agent to serve the pod's port to this session. The
// returned stream keeps the redirect alive; closing it removes the redirect.
func (s *Session) Incoming(port int, mode string, filters []protocol.HTTPFilter) (*smux.Stream, error) {
	st, _, err := s.open(protocol.Request{Kind: protocol.KindIncoming, Port: port, Mode: mode, Filters: filters})
	return st, err
}

// AcceptIncoming waits for the next connection the agent hands over. It
// fails when the link drops; after a reconnect the owner asks for its
// redirects again (Options.Reconnected).
func (s *Session) AcceptIncoming() (*smux.Stream, protocol.IncomingConn, error) {
	l, err := s.link()
	if err != nil {
		return nil, protocol.IncomingConn{}, err
	}
	st, err := l.smux.AcceptStream()
	if err != nil {
		s.lost(l) // the next call waits for the new link
		return nil, protocol.IncomingConn{}, err
	}
	var hdr protocol.IncomingConn
	if err := protocol.Read(st, &hdr); err != nil {
		st.Close()
		return nil, hdr, err
	}
	return st, hdr, nil
}
