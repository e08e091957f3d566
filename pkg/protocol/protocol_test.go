package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"testing"
)

func handshake(t *testing.T, clientVersion int) (Welcome, error, error) {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	serverErr := make(chan error, 1)
	go func() {
		_, err := ServerHandshake(s, "v9.9.9", "(none)")
		serverErr <- err
	}()
	var w Welcome
	var err error
	if clientVersion == Version {
		w, err = ClientHandshake(c, "v1.2.3")
	} else {
		// An older or newer plugin: speak the frame by hand with its version.
		if err := Write(c, Hello{Version: clientVersion}); err != nil {
			t.Fatal(err)
		}
		if err := Read(c, &w); err != nil {
			t.Fatal(err)
		}
	}
	return w, err, <-serverErr
}

func TestHandshake(t *testing.T) {
	w, cerr, serr := handshake(t, Version)
	if cerr != nil || serr != nil || w.AgentVersion != "v9.9.9" || w.Version != Version {
		t.Fatalf("good handshake: %+v %v %v", w, cerr, serr)
	}
	w, _, serr = handshake(t, Version+1)
	if !errors.Is(serr, ErrVersionMismatch) || w.Error != refusedVersion || w.Version != Version {
		t.Fatalf("newer plugin: %+v %v", w, serr)
	}
}

func TestClientSeesVersionMismatch(t *testing.T) {
	c, s := net.Pipe()
	defer c.Close()
	go func() {
		var h Hello
		_ = Read(s, &h)
		_ = Write(s, Welcome{Version: Version + 1, AgentVersion: "v2.0.0", Error: refusedVersion})
	}()
	_, err := ClientHandshake(c, "v1.0.0")
	if !errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("got %v", err)
	}
}

func TestOversizedFrameIsRefused(t *testing.T) {
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.BigEndian, uint32(MaxFrame+1))
	var h Hello
	if err := Read(&buf, &h); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v", err)
	}
}

func FuzzRead(f *testing.F) {
	var good bytes.Buffer
	_ = Write(&good, Hello{Version: 1, PluginVersion: "x"})
	f.Add(good.Bytes())
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Hello
		_ = Read(bytes.NewReader(b), &h) // must not panic or allocate past MaxFrame
	})
}
