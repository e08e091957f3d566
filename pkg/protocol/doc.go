// Package protocol is what the plugin and the agent say to each other. Both
// sides import it, and it imports nothing of the project. The only other
// packages they share are pkg/netpipe (the copy loop that joins two
// connections) and pkg/version (the build's version); a test of the
// project's layout (docs/development.md) keeps it so.
//
// # Transport
//
// One port-forward connection carries first the authentication exchange,
// then one smux session (the plugin is the smux client). Each piece of work is its own smux stream: the first stream is the
// control stream, then one stream per request (environment, and later dials,
// UDP flows, file fetches, incoming connections).
//
// # Authentication (raw transport, before smux)
//
// Each user has an ed25519 key pair; the private key never leaves the
// user's machine. An agent is started for one public key, named in its
// arguments (AuthorizedKeyFlag), and for one identity (IdentityFlag): the
// UID of its pod and its container's name, AgentIdentity. The pod spec,
// which anyone with `get pods` reads, holds nothing that grants access. On
// every connection:
//
//  1. agent -> plugin, 41 bytes: "KMIRAUTH", auth version 2, a 32-byte
//     random nonce (fresh per connection, so a recorded proof cannot be
//     replayed);
//  2. plugin -> agent, 96 bytes: its public key, then its ed25519 signature
//     of "kubectl-mirror agent authentication v2\x00", the 2-byte
//     big-endian length of the identity of the agent the plugin means to
//     reach, that identity, and the nonce;
//  3. agent -> plugin, 1 byte: 0 accepted, 1 refused (and the agent closes).
//
// Only after 0 does either side start smux. The agent checks the signature
// against its own identity, so a proof made for one agent is worth nothing
// to another: a container someone planted that relays the user's
// connection to the user's real agent gets refused. The agent holds no
// secret, so it cannot prove itself in turn; the plugin trusts an agent it
// did not just start only when its container in the pod spec is exactly
// the one the plugin makes (image, command, arguments, environment, mounts,
// security context): only those allowed to patch pods/ephemeralcontainers
// can put one there. Before 0 the agent holds a
// fixed few hundred bytes per connection, closes a connection that has not
// authenticated within AuthTimeout, serves at most a bounded number of
// unauthenticated connections at once, and does not count them as use for
// its idle timeout. Another user (another key) is refused and starts an
// agent of its own.
//
// # Framing
//
// Every message is a frame: a 4-byte big-endian length, then that many bytes
// of JSON. Frames are at most MaxFrame bytes; a larger length is a protocol
// error and the stream is closed.
//
// # Handshake (control stream)
//
// On an authenticated session the plugin sends Hello; the agent answers
// Welcome, or Welcome with Error set and closes the session when the
// protocol version differs.
//
// # Compatibility
//
// Version is a single integer. The agent accepts exactly its own Version:
// plugin and agent are released together and the plugin injects the agent of
// its own version, so a mismatch means a reused agent from another release;
// the plugin then starts a fresh agent rather than guess. New optional JSON
// fields may be added within a version; removing or changing a field's
// meaning needs a new Version. A new request kind may be added too: an agent
// that predates it answers an Error, and the plugin must then do without
// (KindStat: the session's copies show their own metadata).
//
// # Streams and how they close
//
// A request stream starts with one Request frame from the plugin. The agent
// answers with one Response frame; for a one-shot request (env) the agent then
// closes the stream. The control stream stays open for the session's life:
// when it closes, from either side, the session is over and the agent drops
// everything the session owned.
//
// # Incoming streams
//
// A KindIncoming request claims a pod port for the session (Mode, Filters,
// ProbePaths; Session and Holder name it to others). The agent answers once
// the port is served; the stream then stays open, and the claim lasts as long
// as it does. If another session takes the port over (its Request set
// Takeover), the agent writes one more Response on the stream, Error saying
// who took it and Errno "EADDRINUSE", and closes it. The plugin gives the
// port back by writing an Answer with Release set: the agent removes the
// redirect, then writes an empty Response and closes the stream, so the
// plugin knows the pod's app has its port again (an older agent ignores the
// Answer; closing the stream then ends the claim). A claim that cannot share
// the port with the sessions holding it is refused with Errno "EADDRINUSE"
// and the holder named in Error; the plugin may ask again. Each connection
// for the session is a stream the agent opens, starting with an IncomingConn
// frame, then the connection's bytes both ways. For a steal the plugin
// first answers one byte (WriteDelivered): 1 when the program took the
// connection (its accept returned it), 0 when it did not (it stopped
// listening, or closed its listener with the connection still queued); on 0 the agent
// gives the connection, of which it has read nothing yet, to the pod's app.
// A joined agent relaying for its plugin passes the byte on.
//
// Sharing rules: steal claims that all carry filters share a port (each
// request to the oldest claim whose filters match, the rest to the pod's
// app); mirror claims share a port (each gets a copy); any other pair
// conflicts.
//
// # Between the agents of one pod
//
// The first agent of a pod asked for a port routes it for every claim. Each
// agent listens on the abstract unix socket "@kubectl-mirror/" + its
// nftables table name; another agent finds the routing agent by its table
// and opens one smux session there per claim (the joining agent is the smux
// client). Anything in the pod's network namespace can reach that socket,
// so a claim proves itself first. On the first stream the routing agent
// sends a PeerChallenge (a fresh nonce); the joining agent, which holds no
// key, asks its plugin (a Response with Ask.Sign on the plugin's claim
// stream, answered by one Answer frame) to sign ClaimMessage: the pod's UID
// (from the API server), the routing agent's table, the nonce and the claim.
// It sends a PeerClaim. The routing agent checks the signature and then
// asks its own plugin (Ask.Vouch) whether the pod spec holds an agent
// started for that key; a claim not made and vouched for within 2 s is
// refused (Errno "EACCES") and closed, and at most 16 claims are being
// checked at once. Holders are named by the verified key's fingerprint and
// its agent's container, never by the claim's Holder text. The first
// stream then carries the answer (a Response, as above, Errno "ENOENT"
// when that agent no longer routes the port), and stays open while the
// claim lasts; a takeover is written on it
// as on a plugin's stream. The routing agent opens one stream per
// connection for the claim, headed by IncomingConn, which the joining agent
// relays to its plugin. When the routing agent ends, the joining agents
// claim the port again.
package protocol
