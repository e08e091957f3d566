package protocol

import (
	"time"

	"github.com/xtaci/smux"
)

// SmuxConfig is the session configuration both sides use. Keepalives also
// keep the port-forward from being dropped as idle.
func SmuxConfig() *smux.Config {
	c := smux.DefaultConfig()
	c.Version = 2 // per-stream flow control: one slow reader does not stall the others
	c.KeepAliveInterval = 10 * time.Second
	c.KeepAliveTimeout = 45 * time.Second
	c.MaxReceiveBuffer = 32 << 20
	c.MaxStreamBuffer = 4 << 20
	c.MaxFrameSize = 65535
	if err := smux.VerifyConfig(c); err != nil {
		panic(err) // the values above are constants
	}
	return c
}
