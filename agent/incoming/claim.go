package incoming

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/xtaci/smux"
	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// ServeClaim serves the pod's port to one of this agent's sessions as req,
// read from st (a stream of sess), claims it: all of it (steal), the
// requests that match (steal with HTTP filters), or a copy while the pod's
// app answers (mirror), shared with the other sessions of the pod as the
// port router's rules allow. The claim lives while the request stream and
// the session do; another session taking the port over ends it, saying so
// on the stream.
func (t *Ports) ServeClaim(ctx context.Context, sess *smux.Session, st *smux.Stream, req protocol.Request) {
	s, err := newSubscriber(req)
	if err != nil {
		_ = protocol.Write(st, protocol.Response{Error: err.Error()})
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs := newClaimStream(st)
	if t.trust != nil {
		defer t.trust.addAsker(cs)()
	}
	// Named by the key this agent verified, never by the plugin's own words.
	s.holder = holder(t.self.key, t.self.agent)
	s.session = protocol.KeyFingerprint(t.self.key) + "/" + req.Session
	s.ask = cs.ask
	s.open = func(hdr protocol.IncomingConn) (netpipe.HalfCloser, error) { return openWith(sess, hdr) }
	s.evict = func(reason string) {
		t.log.Info("incoming taken", zap.Int("port", req.Port), zap.String("why", reason))
		_ = cs.write(protocol.Response{Error: reason, Errno: "EADDRINUSE"})
		st.Close()
	}
	leave, err := t.join(ctx, req.Port, s)
	if err != nil {
		_ = cs.write(claimResponse(err))
		return
	}
	leave = sync.OnceFunc(leave)
	defer leave()
	t.log.Info("incoming on", zap.Int("port", req.Port), zap.String("mode", string(req.Mode)), zap.Int("filters", len(req.Filters)))
	defer t.log.Info("incoming off", zap.Int("port", req.Port))
	if err := cs.write(protocol.Response{}); err != nil {
		return
	}
	// The plugin closing the stream, or the session ending, stops it; a
	// release is answered once the redirect is gone, so the plugin can let
	// its program's close return knowing the pod's app has the port.
	select {
	case <-cs.closed:
	case <-cs.released:
		leave()
		_ = cs.write(protocol.Response{})
		st.Close()
	}
}

// agentNameOf is the container part of an identity.
func agentNameOf(identity string) string {
	_, name, _ := strings.Cut(identity, "/")
	return name
}

// newSubscriber is req's claim, without its way to the program yet.
func newSubscriber(req protocol.Request) (*subscriber, error) {
	filters, err := protocol.CompileFilters(req.Filters)
	if err != nil {
		return nil, err
	}
	if req.Mode != protocol.ModeMirror && req.Mode != protocol.ModeSteal {
		return nil, fmt.Errorf("unknown incoming mode %q", req.Mode)
	}
	return &subscriber{session: req.Session, holder: req.Holder, since: time.Now(), mode: req.Mode,
		filters: filters, probes: req.ProbePaths, takeover: req.Takeover, req: req}, nil
}

// claimResponse says why a claim failed; the errno tells the plugin whether
// to ask again (EADDRINUSE: the holder may be a session just ended).
func claimResponse(err error) protocol.Response {
	switch {
	case errors.Is(err, errPortHeld):
		return protocol.Response{Error: err.Error(), Errno: "EADDRINUSE"}
	case errors.Is(err, errNotRouted):
		return protocol.Response{Error: err.Error(), Errno: "ENOENT"}
	}
	return protocol.ErrorResponse(err)
}
