// Package incoming serves the pod's ports to sessions: mirror (a copy of
// each connection while the pod's app answers) or steal (the connection, or
// with HTTP filters the requests that match, for the program).
//
// The way of a connection: an nftables redirect (redirect.go) sends a pod
// port to a listener of the port's router (ports.go), which hands each
// connection (conn.go) to the sessions sharing the port (sharing.go) and
// the pod's app. A filtered steal reads the first bytes (sniff.go) and
// routes HTTP/1 requests one by one (http1.go) or HTTP/2 streams one by one
// (http2.go); the kubelet's probes always reach the app (probes.go); mirror
// copies never hold the client back (tee.go). A connection reaches a
// session's program on a stream (deliver.go).
//
// Agents of one pod share a port through the agent that routes it: they
// claim it over an abstract unix socket (peers.go, joinpeer.go), each claim
// signed by a user the pod spec vouches for (peertrust.go, claimstream.go).
package incoming
