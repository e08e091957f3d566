package incoming

import (
	"errors"
	"sync"
	"time"

	"github.com/xtaci/smux"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// claimStream is a plugin's incoming claim: the agent writes Responses on
// it (the claim's answer, a takeover, asks) and reads the plugin's Answers.
// The plugin closing it ends the claim.
type claimStream struct {
	st      *smux.Stream
	wmu     sync.Mutex
	askMu   sync.Mutex // one question at a time: answers come in order
	answers chan protocol.Answer
	closed  chan struct{}
	// released: the plugin gave the port back and waits for the redirect
	// to be gone.
	released chan struct{}
}

// askWait bounds how long the plugin may take to answer (it may read the
// pod from the API server).
const askWait = 5 * time.Second

var errNoAnswer = errors.New("the plugin did not answer")

func newClaimStream(st *smux.Stream) *claimStream {
	c := &claimStream{st: st, answers: make(chan protocol.Answer, 1), closed: make(chan struct{}), released: make(chan struct{})}
	go func() {
		defer close(c.closed)
		var once sync.Once
		for {
			var a protocol.Answer
			if protocol.Read(st, &a) != nil {
				return
			}
			if a.Release {
				once.Do(func() { close(c.released) })
				continue
			}
			select {
			case c.answers <- a:
			default: // nobody asked: dropped
			}
		}
	}()
	return c
}

func (c *claimStream) write(r protocol.Response) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return protocol.Write(c.st, r)
}

// ask puts q to the plugin and waits for its answer.
func (c *claimStream) ask(q protocol.Ask) (protocol.Answer, error) {
	c.askMu.Lock()
	defer c.askMu.Unlock()
	select {
	case <-c.answers: // a late answer to a question that timed out
	default:
	}
	if err := c.write(protocol.Response{Ask: &q}); err != nil {
		return protocol.Answer{}, err
	}
	select {
	case a := <-c.answers:
		if a.Error != "" {
			return a, errors.New(a.Error)
		}
		return a, nil
	case <-c.closed:
		return protocol.Answer{}, errNoAnswer
	case <-time.After(askWait):
		return protocol.Answer{}, errNoAnswer
	}
}
