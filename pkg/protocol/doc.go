// Package protocol is what the plugin and the agent say to each other. Both
// sides import it; nothing else is shared.
//
// # Transport
//
// One port-forward connection carries one smux session (the plugin is the smux
// client). Each piece of work is its own smux stream: the first stream is the
// control stream, then one stream per request (environment, and later dials,
// UDP flows, file fetches, incoming connections).
//
// # Framing
//
// Every message is a frame: a 4-byte big-endian length, then that many bytes
// of JSON. Frames are at most MaxFrame bytes; a larger length is a protocol
// error and the stream is closed.
//
// # Handshake (control stream)
//
// The plugin sends Hello; the agent answers Welcome, or Welcome with Error set
// and closes the session. The agent checks the secret first (a wrong secret
// learns nothing about versions), then the protocol version.
//
// # Compatibility
//
// Version is a single integer. The agent accepts exactly its own Version:
// plugin and agent are released together and the plugin injects the agent of
// its own version, so a mismatch means a reused agent from another release;
// the plugin then starts a fresh agent rather than guess. New optional JSON
// fields may be added within a version; removing or changing a field's
// meaning needs a new Version.
//
// # Streams and how they close
//
// A request stream starts with one Request frame from the plugin. The agent
// answers with one Response frame; for a one-shot request (env) the agent then
// closes the stream. The control stream stays open for the session's life:
// when it closes, from either side, the session is over and the agent drops
// everything the session owned.
package protocol
