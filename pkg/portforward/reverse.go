package portforward

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/incoming"
)

// Reverse is one -R: connections to the pod's PodPort (stolen, as
// `run --incoming steal` steals a port) are served by Host:Port as this
// machine reaches it.
type Reverse struct {
	PodPort int
	Host    string // a name (resolved here) or an address
	Port    int
}

// Local is Host:Port as this machine dials it.
func (r Reverse) Local() string { return net.JoinHostPort(r.Host, strconv.Itoa(r.Port)) }

// String is r as -R takes it.
func (r Reverse) String() string { return fmt.Sprintf("%d:%s", r.PodPort, r.Local()) }

// ParseReverse reads REMOTE_PORT:LOCAL_HOST:LOCAL_PORT, an IPv6 LOCAL_HOST in
// brackets.
func ParseReverse(spec string) (Reverse, error) {
	usage := fmt.Errorf("-R %s: want REMOTE_PORT:LOCAL_HOST:LOCAL_PORT, such as 8080:127.0.0.1:8080", spec)
	if strings.HasSuffix(spec, "/udp") {
		return Reverse{}, fmt.Errorf("-R %s: only TCP ports can be stolen; drop /udp", spec)
	}
	parts := splitHostPorts(strings.TrimSuffix(spec, "/tcp"))
	if len(parts) != 3 {
		return Reverse{}, usage
	}
	pport, err1 := strconv.Atoi(parts[0])
	lport, err2 := strconv.Atoi(parts[2])
	host := strings.Trim(parts[1], "[]")
	if err1 != nil || err2 != nil || pport < 1 || pport > 65535 || lport < 1 || lport > 65535 || host == "" {
		return Reverse{}, usage
	}
	return Reverse{PodPort: pport, Host: host, Port: lport}, nil
}

// lookupWait bounds the check that LOCAL_HOST resolves.
const lookupWait = 5 * time.Second

// CheckLocal says, in one line, when LOCAL_HOST does not resolve on this
// machine: every connection would fail, so the steal is not worth making.
func (r Reverse) CheckLocal(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, lookupWait)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, r.Host); err != nil {
		return fmt.Errorf("-R %s: %s does not resolve on this machine (%v); name a host it reaches, such as 127.0.0.1", r, r.Host, err)
	}
	return nil
}

// localDialWait bounds the connection to LOCAL_HOST:LOCAL_PORT: the agent
// gives the pod's app a connection not taken within 5 s.
const localDialWait = 3 * time.Second

// Serve is how r's connections are made on this machine, counted in st;
// a failure is told through report.
func (r Reverse) Serve(st *Stats, report func(string)) incoming.Local {
	return incoming.Local{Port: r.Port, In: &st.BytesIn, Out: &st.BytesOut, Dial: func() (*net.TCPConn, error) {
		c, err := net.DialTimeout("tcp", r.Local(), localDialWait)
		if err != nil {
			st.Failed.Add(1)
			report(fmt.Sprintf("-R %s: %v; the client's connection was closed", r, err))
			return nil, err
		}
		st.Connections.Add(1)
		return c.(*net.TCPConn), nil
	}}
}
