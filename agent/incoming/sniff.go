package incoming

import (
	"bufio"
	"bytes"
	"net"
	"time"
)

// httpSniffWait bounds how long a filtered connection waits for its first
// bytes before it is taken for a protocol where the server speaks first.
const httpSniffWait = time.Second

// http1Methods start every HTTP/1.x request; anything else (TLS, HTTP/2's
// preface, a database protocol) is not read by the filters.
var http1Methods = []string{"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

// wire is what a connection speaks, as far as the filters care.
type wire int

const (
	wireOther wire = iota // not read by the filters: passed whole
	wireHTTP1
	wireH2 // cleartext HTTP/2 with prior knowledge (gRPC)
)

// sniff peeks at the first bytes without taking them: every HTTP/1.x
// request starts with a method and a space, eight bytes at most, and every
// HTTP/2 connection with its preface.
func sniff(c net.Conn, br *bufio.Reader) wire {
	_ = c.SetReadDeadline(time.Now().Add(httpSniffWait))
	defer c.SetReadDeadline(time.Time{})
	b, _ := br.Peek(len("OPTIONS "))
	if string(b) == h2PrefaceStart {
		return wireH2
	}
	for _, m := range http1Methods {
		if bytes.HasPrefix(b, []byte(m)) {
			return wireHTTP1
		}
	}
	return wireOther
}
