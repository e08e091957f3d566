package kube

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
)

// DefaultProbeTimeout bounds the first contact with the API server when the
// user set no --request-timeout.
const DefaultProbeTimeout = 10 * time.Second

// ErrUnreachable: the API server did not answer.
var ErrUnreachable = errors.New("cannot reach the Kubernetes API server")

// CheckReachable asks the API server for its version, once, within the
// config's request timeout (else DefaultProbeTimeout), so a dead or
// blackholed server is one line naming it and the context, not a hang or a
// page of retries.
func CheckReachable(cfg *rest.Config, contextName string) error {
	c := rest.CopyConfig(cfg)
	if c.Timeout == 0 {
		c.Timeout = DefaultProbeTimeout
	}
	dc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return err
	}
	if _, err := dc.ServerVersion(); err != nil {
		return fmt.Errorf("%w at %s (context %q): %s; check that the cluster is up and the kubeconfig is right, or pick another with --context", ErrUnreachable, cfg.Host, contextName, reason(err, c.Timeout))
	}
	return nil
}

// reason says in a few words why a request got no answer.
func reason(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %s", timeout)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "cannot resolve " + dnsErr.Name
	}
	return err.Error()
}
