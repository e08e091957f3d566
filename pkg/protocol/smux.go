package protocol

import (
	"time"

	"github.com/xtaci/smux"
)

// SmuxConfig is the session configuration both sides use. Keepalives also
// keep the port-forward from being dropped as idle, and tell a link that
// stalled (the API server unreachable: the connection stays open but
// carries nothing) within KeepAliveTimeout, so the user is told and the
// plugin reconnects.
func SmuxConfig() *smux.Config {
	c := smux.DefaultConfig()
	c.Version = 2 // per-stream flow control: one slow reader does not stall the others
	c.KeepAliveInterval = 2 * time.Second
	c.KeepAliveTimeout = 10 * time.Second
	c.MaxReceiveBuffer = 32 << 20
	c.MaxStreamBuffer = 4 << 20
	c.MaxFrameSize = 65535
	if err := smux.VerifyConfig(c); err != nil {
		panic(err) // the values above are constants
	}
	return c
}
