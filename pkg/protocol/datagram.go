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
