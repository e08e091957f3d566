package session

import (
	"io"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// DialHost connects to host:port from the pod, the host name resolved there by
// the pod's DNS as the pod's own programs resolve it (port-forward -L).
func (s *Session) DialHost(hostport string, timeout time.Duration) (netpipe.HalfCloser, error) {
	st, _, err := s.open(protocol.Request{Kind: protocol.KindDial, Address: hostport, Timeout: timeout.Milliseconds()})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// UDPHost opens a datagram flow to host:port from the pod, the host name
// resolved there (port-forward -L .../udp).
func (s *Session) UDPHost(hostport string) (io.ReadWriteCloser, error) {
	st, _, err := s.open(protocol.Request{Kind: protocol.KindUDP, Address: hostport})
	if err != nil {
		return nil, err
	}
	return st, nil
}
