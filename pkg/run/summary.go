package run

import (
	"fmt"
	"strings"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
)

// closing counts what a run did besides its outgoing traffic, for the
// summary printed when the program ends.
type closing struct {
	fetches      int   // files read from the pod
	fetchedBytes int64 // their size
	written      int   // with --fs-write: files written to the pod
	refused      int   // and changes the pod refused
	incoming     int   // connections the pod's port gave the program
}

// summary is the closing line: the outgoing side's parts, then the files
// and the incoming connections, each noun in the number its count asks.
func summary(outgoingParts []string, c closing) string {
	parts := outgoingParts
	if c.fetches > 0 {
		parts = append(parts, fmt.Sprintf("%s from the pod (%s)", outgoing.Count(c.fetches, "file", "files"), outgoing.Size(c.fetchedBytes)))
	}
	if c.written+c.refused > 0 {
		parts = append(parts, fmt.Sprintf("%s written to the pod (%d refused)", outgoing.Count(c.written, "file", "files"), c.refused))
	}
	if c.incoming > 0 {
		parts = append(parts, outgoing.Count(c.incoming, "incoming connection", "incoming connections"))
	}
	if len(parts) == 0 {
		return "nothing went through the pod"
	}
	return strings.Join(parts, "; ")
}
