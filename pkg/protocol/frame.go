package protocol

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrFrameTooLarge is returned for a frame longer than MaxFrame.
var ErrFrameTooLarge = errors.New("protocol frame too large")

// Write sends v as one frame.
func Write(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(body) > MaxFrame {
		return ErrFrameTooLarge
	}
	buf := make([]byte, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	copy(buf[4:], body)
	_, err = w.Write(buf)
	return err
}

// Read receives one frame into v.
func Read(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("protocol frame: %w", err)
	}
	return nil
}

// The side that takes an incoming steal connection (the plugin, or an agent
// relaying for its plugin) answers its IncomingConn frame with one byte:
// 1 when the program took the connection, 0 when it did not (it stopped
// listening). Only after 1 do the connection's bytes follow.
const (
	delivered    byte = 1
	notDelivered byte = 0
)

// WriteDelivered says whether the program took the connection.
func WriteDelivered(w io.Writer, taken bool) error {
	b := notDelivered
	if taken {
		b = delivered
	}
	_, err := w.Write([]byte{b})
	return err
}

// ReadDelivered reads WriteDelivered's byte.
func ReadDelivered(r io.Reader) (bool, error) {
	var b [1]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return false, err
	}
	return b[0] == delivered, nil
}
