package agent

import (
	"context"
	"net"

	"github.com/xtaci/smux"
	"go.uber.org/zap"

	"github.com/kubectl-mirror/kubectl-mirror/agent/egress"
	"github.com/kubectl-mirror/kubectl-mirror/agent/podfs"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/version"
)

// serveSession runs one authenticated plugin session on c: handshake on the first stream,
// then one goroutine per request stream, until the control stream closes.
func serveSession(ctx context.Context, cfg Config, c net.Conn, ports *portTable) {
	log := cfg.Logger.With(zap.String("peer", c.RemoteAddr().String()))
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
		log.Info("session refused", zap.Error(err))
		return
	}
	log.Info("session started", zap.String("plugin", hello.PluginVersion))
	// The session lasts as long as the control stream.
	go func() {
		var b [1]byte
		_, _ = control.Read(b[:])
		sess.Close()
	}()
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			log.Info("session ended")
			return
		}
		go serveRequest(ctx, cfg, sess, st, ports)
	}
}

// serveRequest answers one request stream and closes it.
func serveRequest(ctx context.Context, cfg Config, sess *smux.Session, st *smux.Stream, ports *portTable) {
	defer st.Close()
	var req protocol.Request
	if err := protocol.Read(st, &req); err != nil {
		return
	}
	target := podfs.NewTarget(cfg.ProcRoot, cfg.TargetPID)
	var resp protocol.Response
	switch req.Kind {
	case protocol.KindDial:
		egress.ServeDial(st, req)
		return
	case protocol.KindUDP:
		egress.ServeUDP(st, req)
		return
	case protocol.KindIncoming:
		serveIncoming(ctx, cfg, sess, st, req, ports)
		return
	case protocol.KindTree:
		// One line per fetch: the agent's own count of round trips for files.
		entries, bytes := target.ServeTree(st, req)
		cfg.Logger.Info("served tree", zap.String("path", req.Path), zap.Int("entries", entries), zap.Int64("bytes", bytes))
		return
	case protocol.KindFile:
		resp = target.ReadFile(req.Path)
		cfg.Logger.Info("served file", zap.String("path", req.Path), zap.Int("bytes", len(resp.Data)))
	case protocol.KindMutate:
		resp = target.Mutate(req)
		cfg.Logger.Info("changed a file", zap.String("op", req.Op), zap.String("path", req.Path), zap.String("error", resp.Error))
	case protocol.KindStatfs:
		resp = target.Statfs(req.Path)
	case protocol.KindEnv:
		env, err := target.Environ()
		if err != nil {
			resp.Error = err.Error()
		}
		resp.Env = env
	default:
		resp.Error = "unknown request kind " + req.Kind
	}
	_ = protocol.Write(st, resp)
}
