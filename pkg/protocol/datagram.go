package protocol

import (
	"encoding/binary"
	"errors"
	"io"
)

// MaxDatagram is the largest UDP payload a udp stream carries.
const MaxDatagram = 65535

// ErrDatagramTooLarge is returned for a payload over MaxDatagram.
var ErrDatagramTooLarge = errors.New("datagram too large")

// WriteDatagram sends one datagram on a udp stream.
func WriteDatagram(w io.Writer, payload []byte) error {
	if len(payload) > MaxDatagram {
		return ErrDatagramTooLarge
	}
	buf := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(buf, uint16(len(payload)))
	copy(buf[2:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadDatagram reads one datagram into buf (at least MaxDatagram long) and
// returns its length.
func ReadDatagram(r io.Reader, buf []byte) (int, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n > len(buf) {
		return 0, ErrDatagramTooLarge
	}
	_, err := io.ReadFull(r, buf[:n])
	return n, err
}

// DNSID is a DNS message's ID: the first two bytes of its 12-byte header
// (false for a datagram too short to be DNS). The plugin counts unanswered
// queries by it and the agent sends lost ones again by it.
func DNSID(msg []byte) (uint16, bool) {
	if len(msg) < 12 {
		return 0, false
	}
	return binary.BigEndian.Uint16(msg), true
}
