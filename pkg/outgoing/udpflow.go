package outgoing

import "sync"

// flowQueue bounds the datagrams a flow holds while its stream opens; more
// are dropped, as a full socket buffer would.
const flowQueue = 64

// udpFlow is one program socket's datagrams to one destination.
type udpFlow struct {
	out  chan []byte
	done chan struct{}
	once sync.Once
}

// send queues a copy of b without waiting.
func (f *udpFlow) send(b []byte) {
	select {
	case f.out <- append([]byte(nil), b...):
	case <-f.done:
	default:
	}
}

func (f *udpFlow) close() { f.once.Do(func() { close(f.done) }) }
