package agent

import (
	"context"
	"net"

	"github.com/xtaci/smux"
	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/agent/egress"
	"github.com/kubectl-mirror/kubectl-mirror/agent/incoming"
	"github.com/kubectl-mirror/kubectl-mirror/agent/podfs"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// capabilities are what a session's requests reach (egress needs nothing
// but the request).
type capabilities struct {
	target podfs.Target    // the target's files and environment
	ports  *incoming.Ports // the pod's ports
}

// serveSession runs one authenticated plugin session on c: handshake on the first stream,
// then one goroutine per request stream, until the control stream closes.
func serveSession(ctx context.Context, log *zap.Logger, c net.Conn, caps capabilities) {
	peerLog := log.With(zap.String("peer", c.RemoteAddr().String()))
	sess, err := smux.Server(c, protocol.SmuxConfig())
	if err != nil {
		c.Close()
		return
	}
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	control, err := sess.AcceptStream()
	if err != nil {
		return
	}
	hello, err := protocol.ServerHandshake(control, version.Version, podfs.Domainname())
	if err != nil {
		peerLog.Info("session refused", zap.Error(err))
		return
	}
	peerLog.Info("session started", zap.String("plugin", hello.PluginVersion))
	// The session lasts as long as the control stream.
	go func() {
		var b [1]byte
		_, _ = control.Read(b[:])
		sess.Close()
	}()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			peerLog.Info("session ended")
			return
		}
		go serveRequest(ctx, log, caps, sess, st)
	}
}

// maxStatPaths bounds one stat request (a change asks about a few paths).
const maxStatPaths = 64

// serveRequest answers one request stream and closes it: the one place that
// knows every kind of request.
func serveRequest(ctx context.Context, log *zap.Logger, caps capabilities, sess *smux.Session, st *smux.Stream) {
	defer st.Close()
	var req protocol.Request
	if err := protocol.Read(st, &req); err != nil {
		return
	}
	var resp protocol.Response
	switch req.Kind {
	case protocol.KindDial:
		egress.ServeDial(st, req)
		return
	case protocol.KindUDP:
		egress.ServeUDP(st, req)
		return
	case protocol.KindIncoming:
		caps.ports.ServeClaim(ctx, sess, st, req)
		return
	case protocol.KindTree:
		// One line per fetch: the agent's own count of round trips for files.
		entries, bytes := caps.target.ServeTree(st, req)
		log.Info("served tree", zap.String("path", req.Path), zap.Int("entries", entries), zap.Int64("bytes", bytes))
		return
	case protocol.KindFile:
		resp = caps.target.ReadFile(req.Path)
		log.Info("served file", zap.String("path", req.Path), zap.Int("bytes", len(resp.Data)))
	case protocol.KindMutate:
		resp = caps.target.Mutate(req)
		log.Info("changed a file", zap.String("op", req.Op), zap.String("path", req.Path), zap.String("error", resp.Error))
	case protocol.KindStatfs:
		resp = caps.target.Statfs(req.Path)
	case protocol.KindStat:
		if len(req.Paths) > maxStatPaths {
			resp.Error = "too many paths"
			break
		}
		resp = caps.target.Stat(req.Paths)
	case protocol.KindEnv:
		env, err := caps.target.Environ()
		if err != nil {
			resp.Error = err.Error()
		}
		resp.Env = env
	default:
		resp.Error = "unknown request kind " + req.Kind
	}
	_ = protocol.Write(st, resp)
}
