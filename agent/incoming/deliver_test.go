package incoming

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testnet"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/netpipe"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/protocol"
)

// A program that no longer takes its connections (it closed its listener,
// the poll has not seen it yet): each connection, filtered or not, is the
// pod's app's instead of being dropped.
func TestUndeliveredConnectionsGoToTheApp(t *testing.T) {
	for name, filters := range map[string][]protocol.HTTPFilter{
		"unfiltered steal": nil,
		"filtered steal":   {{Kind: "header", Name: "X-User", Pattern: "^alice$"}},
	} {
		app := h2cServer(t, "app")
		_, portStr, _ := net.SplitHostPort(app)
		port, _ := strconv.Atoi(portStr)
		s, err := newSubscriber(protocol.Request{Port: port, Mode: protocol.ModeSteal, Session: "a", Filters: filters})
		if err != nil {
			t.Fatal(err)
		}
		s.open = func(protocol.IncomingConn) (netpipe.HalfCloser, error) { return nil, errNotDelivered }
		r := &portRouter{port: port, subs: []*subscriber{s}}
		addr := testnet.Serve(t, func(c net.Conn) {
			incomingConn{router: r, client: c, port: port}.serve(r.current())
		}).String()
		req, _ := http.NewRequest("GET", "http://"+addr+"/x", nil)
		req.Header.Set("X-User", "alice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(b), "app ") {
			t.Fatalf("%s: answered %q, want the pod's app", name, b)
		}
	}
}
