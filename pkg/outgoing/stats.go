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
	// DNSUnanswered: queries (datagrams to port 53) that got no answer.
	DNSUnanswered atomic.Int64
	// Strangers: connections and datagrams to our loopback proxies that did
	// not come from the program (another process or user); they get nothing.
	Strangers atomic.Int64
	// Parked: connects still waiting for the pod's dial once parked; at
	// the end they are connects the program gave up on, and count as failed.
	Parked atomic.Int64
}

// Parts are the summary's non-zero parts, for the line printed when the
// program ends.
func (s *Stats) Parts() []string {
	var parts []string
	conns, failed := s.Connections.Load(), s.Refused.Load()+s.Parked.Load()
	switch {
	case conns > 0:
		p := fmt.Sprintf("%s through the pod, %s out, %s in", Count(conns, "connection", "connections"), Size(s.BytesOut.Load()), Size(s.BytesIn.Load()))
		if failed > 0 {
			p += fmt.Sprintf(" (%d more failed)", failed)
		}
		parts = append(parts, p)
	case failed > 0:
		parts = append(parts, Count(failed, "connection", "connections")+" through the pod failed")
	}
	if flows := s.UDPFlows.Load(); flows > 0 {
		parts = append(parts, Count(flows, "UDP flow", "UDP flows")+", "+Count(s.Datagrams.Load(), "datagram", "datagrams"))
	}
	if q := s.DNSQueries.Load(); q > 0 {
		p := Count(q, "DNS query", "DNS queries")
		if lost := s.DNSUnanswered.Load(); lost > 0 {
			p += fmt.Sprintf(" (%d got no answer)", lost)
		}
		parts = append(parts, p)
	}
	return parts
}

// Count says n things, one or many: "1 connection", "2 connections".
func Count[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Size says a byte count the way people read it.
func Size(n int64) string {
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
