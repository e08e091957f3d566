package protocol

import (
	"testing"
	"time"
)

func TestAgentArgsRoundTrip(t *testing.T) {
	in := AgentArgs{Port: 47123, IdleTimeout: 90 * time.Second, Key: "ed25519:abc", TargetPID: 7, Identity: AgentIdentity("uid-1", "mirror-agent-x")}
	out, err := ParseAgentArgs(in.Args())
	if err != nil || out != in {
		t.Fatalf("round trip: %+v %v, want %+v", out, err, in)
	}
	def, err := ParseAgentArgs([]string{"--authorized-key=ed25519:k"})
	if err != nil || def.Port != DefaultAgentPort || def.IdleTimeout != DefaultAgentIdleTimeout || def.TargetPID != 1 {
		t.Fatalf("defaults: %+v %v", def, err)
	}
	if CheckIdentity(out.Identity) != nil || CheckIdentity(def.Identity) == nil || CheckIdentity("no-slash") == nil {
		t.Errorf("identity check: %q must pass, none and no-slash must not", out.Identity)
	}
	for _, bad := range [][]string{{"--listen=0.0.0.0:47000"}, {"--listen=127.0.0.1:0"}, {"--nope"}, {"stray"}} {
		if _, err := ParseAgentArgs(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
