package outgoing

import (
	"fmt"
	"sync/atomic"
)

// Stats counts what went through the pod.
type Stats struct {
	Connections, Refused atomic.Int64 // TCP connections made / failed from the pod
	BytesOut, BytesIn    atomic.Int64 // TCP payload, program to pod and back
	UDPFlows, Datagrams  atomic.Int64
	DNSQueries           atomic.Int64 // datagrams and connections to port 53
	// Strangers: connections and datagrams to our loopback proxies that did
	// not come from the program (another process or user); they get nothing.
	Strangers atomic.Int64
	// Parked: connects still waiting for the pod's dial after parkAfter; at
	// the end they are connects the program gave up on, and count as failed.
	Parked atomic.Int64
}

// String is the one-line summary printed when the program ends.
func (s *Stats) String() string {
	return fmt.Sprintf("%d connections through the pod (%d failed), %s out, %s in; %d UDP flows, %d datagrams; %d DNS queries",
		s.Connections.Load(), s.Refused.Load()+s.Parked.Load(), size(s.BytesOut.Load()), size(s.BytesIn.Load()),
		s.UDPFlows.Load(), s.Datagrams.Load(), s.DNSQueries.Load())
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
