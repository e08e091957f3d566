package outgoing

import (
	"strings"
	"testing"
)

// The summary's counts agree with their nouns: one connection, two.
func TestSummaryPartsSayOneAndMany(t *testing.T) {
	var one Stats
	one.Connections.Add(1)
	one.BytesOut.Add(10)
	one.BytesIn.Add(2048)
	one.Refused.Add(1)
	one.UDPFlows.Add(1)
	one.Datagrams.Add(1)
	one.DNSQueries.Add(1)
	one.DNSUnanswered.Add(1)
	if got, want := strings.Join(one.Parts(), "; "),
		"1 connection through the pod, 10 B out, 2.0 KiB in (1 more failed); 1 UDP flow, 1 datagram; 1 DNS query (1 got no answer)"; got != want {
		t.Errorf("ones:\n got %q\nwant %q", got, want)
	}
	var many Stats
	many.Connections.Add(2)
	many.UDPFlows.Add(3)
	many.Datagrams.Add(4)
	many.DNSQueries.Add(5)
	if got, want := strings.Join(many.Parts(), "; "),
		"2 connections through the pod, 0 B out, 0 B in; 3 UDP flows, 4 datagrams; 5 DNS queries"; got != want {
		t.Errorf("many:\n got %q\nwant %q", got, want)
	}
	var failed Stats
	failed.Refused.Add(1)
	if got, want := strings.Join(failed.Parts(), "; "), "1 connection through the pod failed"; got != want {
		t.Errorf("one failed: got %q, want %q", got, want)
	}
	failed.Parked.Add(1)
	if got, want := strings.Join(failed.Parts(), "; "), "2 connections through the pod failed"; got != want {
		t.Errorf("two failed: got %q, want %q", got, want)
	}
}
