package incoming

import (
	"sync"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
)

// tee forwards copies of a connection's bytes to a stream without ever
// blocking the connection: when the copy falls 64 chunks behind it is dropped.
type tee struct {
	ch      chan []byte
	once    sync.Once
	dropped bool
}

func newTee(open func() (netpipe.HalfCloser, error)) *tee {
	t := &tee{ch: make(chan []byte, 64)}
	go func() {
		st, err := open()
		if st != nil {
			defer st.Close()
		}
		for b := range t.ch {
			if err == nil {
				_, err = st.Write(b)
			}
		}
		if err == nil {
			_ = st.CloseWrite()
		}
	}()
	return t
}

func (t *tee) Write(b []byte) (int, error) {
	if t.dropped {
		return len(b), nil
	}
	select {
	case t.ch <- append([]byte(nil), b...):
	default:
		t.dropped = true
		t.close()
	}
	return len(b), nil
}

func (t *tee) close() { t.once.Do(func() { close(t.ch) }) }
