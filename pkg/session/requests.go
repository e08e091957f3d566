package session

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"

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

// RemoteErrno is the errno the agent reported for err (a *RemoteError in
// its chain that carries one), or def when err is not the pod's: what the
// program's call fails with when the pod's part of it failed.
func RemoteErrno(err error, def unix.Errno) unix.Errno {
	var re *RemoteError
	if errors.As(err, &re) && re.Errno != 0 {
		return re.Errno
	}
	return def
}

// open starts a request stream and reads the agent's answer; on success the
// stream stays open for the caller. A request whose link died before the
// answer came is made again on the next link: the lost agent side dropped
// whatever it had begun.
func (s *Session) open(req protocol.Request) (*Stream, protocol.Response, error) {
	for attempt := 1; ; attempt++ {
		st, resp, dead, err := s.openOnce(req)
		if dead == nil || attempt == 3 {
			return st, resp, err
		}
		s.lost(dead)
	}
}

// openOnce makes one attempt. A failure because the link died names the link.
func (s *Session) openOnce(req protocol.Request) (*Stream, protocol.Response, *Link, error) {
	st, err := s.stream()
	if err != nil {
		return nil, protocol.Response{}, nil, fmt.Errorf("open %s stream: %w", req.Kind, err)
	}
	fail := func(resp protocol.Response, err error) (*Stream, protocol.Response, *Link, error) {
		st.Close()
		if st.link.transport.isDead() {
			return nil, resp, st.link, err
		}
		return nil, resp, nil, err
	}
	if err := protocol.Write(st, req); err != nil {
		return fail(protocol.Response{}, err)
	}
	var resp protocol.Response
	for {
		resp = protocol.Response{} // a frame sets only the fields it holds
		if err := protocol.Read(st, &resp); err != nil {
			return fail(resp, fmt.Errorf("%s request: %w", req.Kind, err))
		}
		if resp.Ask == nil {
			break
		}
		// The agent needs the plugin before it can answer (incoming).
		if err := protocol.Write(st, s.answer(*resp.Ask)); err != nil {
			return fail(resp, err)
		}
	}
	if resp.Error != "" {
		st.Close()
		return nil, resp, nil, &RemoteError{Errno: protocol.Errno(resp.Errno), Msg: resp.Error}
	}
	return st, resp, nil, nil
}

// stream opens a stream on the current link. A link that turns out to be
// dead is given up and the stream opened on the next one.
func (s *Session) stream() (*Stream, error) {
	for {
		l, err := s.link()
		if err != nil {
			return nil, err
		}
		st, err := l.smux.OpenStream()
		if err == nil {
			return &Stream{Stream: st, link: l}, nil
		}
		// Every OpenStream failure (closed session, failed write of the SYN,
		// stream ids exhausted) means this link is of no more use.
		s.lost(l)
	}
}

// Dial connects to addr from the pod; the stream is the connection.
func (s *Session) Dial(addr netip.AddrPort, timeout time.Duration) (*Stream, error) {
	st, resp, err := s.open(protocol.Request{Kind: protocol.KindDial, Address: addr.String(), Timeout: timeout.Milliseconds()})
	if err == nil {
		if local, perr := netip.ParseAddrPort(resp.Local); perr == nil {
			st.Local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
		}
	}
	return st, err
}

// UDP opens a datagram flow to addr from the pod.
func (s *Session) UDP(addr netip.AddrPort) (*Stream, error) {
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

// Mutate changes the target's file system as req.Op says (write mode).
func (s *Session) Mutate(req protocol.Request) error {
	req.Kind = protocol.KindMutate
	_, err := s.request(req)
	return err
}

// Statfs says which file system path lies on as the target container sees it.
func (s *Session) Statfs(path string) (*protocol.Statfs, error) {
	resp, err := s.request(protocol.Request{Kind: protocol.KindStatfs, Path: path})
	if err != nil {
		return nil, err
	}
	return resp.Statfs, nil
}

// Stat is lstat of each path as the target container sees it (nil where
// one is missing); an agent that predates it answers an error.
func (s *Session) Stat(paths []string) ([]*protocol.FileMeta, error) {
	resp, err := s.request(protocol.Request{Kind: protocol.KindStat, Paths: paths})
	if err != nil {
		return nil, err
	}
	return resp.Metas, nil
}

// Tree reads path and everything under it as the target container sees it,
// calling fn for each entry; a file's content is in r (exactly Size bytes).
func (s *Session) Tree(path string, fn func(e protocol.TreeEntry, r io.Reader) error) error {
	return s.tree(protocol.Request{Kind: protocol.KindTree, Path: path}, fn)
}

// Lookup fetches path alone, as a shallow tree: a file with its bytes, a
// symlink, or a directory with its children listed but not read.
func (s *Session) Lookup(path string, fn func(e protocol.TreeEntry, r io.Reader) error) error {
	return s.tree(protocol.Request{Kind: protocol.KindTree, Path: path, Shallow: true}, fn)
}

func (s *Session) tree(req protocol.Request, fn func(e protocol.TreeEntry, r io.Reader) error) error {
	path := req.Path
	st, _, err := s.open(req)
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
func (s *Session) Incoming(req protocol.Request) (*Stream, error) {
	req.Kind = protocol.KindIncoming
	st, _, err := s.open(req)
	return st, err
}

// AcceptIncoming waits for the next connection the agent hands over. It
// fails when the link drops; after a reconnect the owner asks for its
// redirects again (Options.Reconnected).
func (s *Session) AcceptIncoming() (*Stream, protocol.IncomingConn, error) {
	l, err := s.link()
	if err != nil {
		return nil, protocol.IncomingConn{}, err
	}
	sst, err := l.smux.AcceptStream()
	if err != nil {
		s.lost(l) // the next call waits for the new link
		return nil, protocol.IncomingConn{}, err
	}
	st := &Stream{Stream: sst, link: l}
	var hdr protocol.IncomingConn
	if err := protocol.Read(st, &hdr); err != nil {
		st.Close()
		return nil, hdr, err
	}
	return st, hdr, nil
}

// answer is the plugin's answer to the agent's question (Options.Answer).
func (s *Session) answer(a protocol.Ask) protocol.Answer {
	if s.opts.Answer == nil {
		return protocol.Answer{Error: "this session answers no questions"}
	}
	return s.opts.Answer(a)
}

// Answer answers a question the agent asked on one of this session's
// claim streams.
func (s *Session) Answer(a protocol.Ask) protocol.Answer { return s.answer(a) }
