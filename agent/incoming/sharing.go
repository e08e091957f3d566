package incoming

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// A subscriber is one session's claim on a pod port: the session may be this
// agent's (a stream to its plugin) or another agent's of the pod (a stream
// to that agent, which relays it).
type subscriber struct {
	session, holder string
	since           time.Time
	mode            protocol.Mode
	filters         []protocol.RequestFilter
	probes          []string
	takeover        bool
	req             protocol.Request // the claim as asked, for asking another agent
	// open starts a connection to the session's program for a client.
	open func(protocol.IncomingConn) (netpipe.HalfCloser, error)
	// evict tells the session it lost the port, and why.
	evict func(reason string)
	// ask puts a question to the session's plugin (nil for another
	// agent's session): a claim on another agent's router needs its
	// signature.
	ask func(protocol.Ask) (protocol.Answer, error)
}

// request is the claim on port, as one agent asks another.
func (s *subscriber) request(port int) protocol.Request {
	r := s.req
	r.Kind, r.Port = protocol.KindIncoming, port
	return r
}

// takes: the session would take this request (filters hold; no filters take all).
func (s *subscriber) takes(r *http.Request) bool { return protocol.MatchAll(s.filters, r) }

// errPortHeld: the port is served to a session this one cannot share it with.
var errPortHeld = errors.New("the pod's port is taken")

// heldError is errPortHeld in words that name the holder.
type heldError struct{ msg string }

func (e heldError) Error() string      { return e.msg }
func (heldError) Is(target error) bool { return target == errPortHeld }

// portRouter serves one pod port to the sessions sharing it. Rules: mirror
// sessions all get copies; steal sessions with HTTP filters share the port,
// each request going to the oldest session whose filters match, the rest to
// the pod's app; an unfiltered steal is alone. A session that cannot share
// is refused, naming the holder, unless it takes the port over; then the
// others are told they lost it.
type portRouter struct {
	port int
	ln   net.Listener

	mu   sync.Mutex
	subs []*subscriber // oldest first: the tie rule between matching filters
}

// add joins s, or refuses it naming who holds the port.
func (r *portRouter) add(s *subscriber) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keep, evicted []*subscriber
	for _, o := range r.subs {
		switch {
		case o.session == s.session:
			// The same run asking again (its link to the plugin was
			// replaced): the new claim stands for the old.
		case s.takeover:
			evicted = append(evicted, o)
		default:
			if err := r.conflict(o, s); err != nil {
				return err
			}
			keep = append(keep, o)
		}
	}
	r.subs = append(keep, s)
	for _, o := range evicted {
		go o.evict(fmt.Sprintf("%s took port %d over", s.holder, r.port))
	}
	return nil
}

// conflict says why s cannot share the port with held, if it cannot.
func (r *portRouter) conflict(held, s *subscriber) error {
	if held.mode == s.mode && (s.mode == protocol.ModeMirror || len(held.filters) > 0 && len(s.filters) > 0) {
		return nil
	}
	what := "stolen by"
	if held.mode == protocol.ModeMirror {
		what = "mirrored to"
	} else if len(held.filters) > 0 {
		what = "stolen with HTTP filters by"
	}
	return heldError{fmt.Sprintf("port %d is %s %s since %s; stop that session, share the port (both steal with --http-filter, or both mirror), or take it over with --incoming-takeover",
		r.port, what, held.holder, held.since.UTC().Format("15:04:05 UTC"))}
}

// remove takes s out and says whether the port is left to nobody.
func (r *portRouter) remove(s *subscriber) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = slices.DeleteFunc(r.subs, func(o *subscriber) bool { return o == s })
	return len(r.subs) == 0
}

// current is the sessions served now, oldest first.
func (r *portRouter) current() []*subscriber {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.subs)
}
