//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// dapClient speaks the Debug Adapter Protocol to `dlv dap`, as VS Code's Go
// extension does: Content-Length framed JSON requests, responses and events.
type dapClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	seq  int
}

// dapMessage is the part of a response or event the test reads.
type dapMessage struct {
	Type    string          `json:"type"`
	Command string          `json:"command"`
	Event   string          `json:"event"`
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Body    json.RawMessage `json:"body"`
}

func (d *dapClient) send(command string, args any) {
	d.t.Helper()
	d.seq++
	b, err := json.Marshal(map[string]any{"seq": d.seq, "type": "request", "command": command, "arguments": args})
	if err != nil {
		d.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(d.conn, "Content-Length: %d\r\n\r\n%s", len(b), b); err != nil {
		d.t.Fatalf("dap %s: %v", command, err)
	}
}

func (d *dapClient) next() dapMessage {
	d.t.Helper()
	_ = d.conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	hdr, err := textproto.NewReader(d.r).ReadMIMEHeader()
	if err != nil {
		d.t.Fatalf("dap: read header: %v", err)
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		d.t.Fatalf("dap: header %v", hdr)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		d.t.Fatalf("dap: read body: %v", err)
	}
	var m dapMessage
	if err := json.Unmarshal(b, &m); err != nil {
		d.t.Fatalf("dap: %v: %s", err, b)
	}
	return m
}

// await reads messages until the response to command or the named event,
// and fails on a failed response.
func (d *dapClient) await(kind, name string) dapMessage {
	d.t.Helper()
	for {
		m := d.next()
		if m.Type == "response" && !m.Success {
			d.t.Fatalf("dap %s failed: %s", m.Command, m.Message)
		}
		if (kind == "response" && m.Type == kind && m.Command == name) || (kind == "event" && m.Type == kind && m.Event == name) {
			return m
		}
	}
}

func (d *dapClient) call(command string, args any, out any) {
	d.t.Helper()
	d.send(command, args)
	m := d.await("response", command)
	if out != nil && json.Unmarshal(m.Body, out) != nil {
		d.t.Fatalf("dap %s: body %s", command, m.Body)
	}
}

// TestDlvDapLaunchAsAnIDEDoes: VS Code starts `dlv dap` and launches the
// program through it; under the plugin the program stops at a function
// breakpoint with the pod's answer, file and environment in its frame.
func TestDlvDapLaunchAsAnIDEDoes(t *testing.T) {
	target, other := echoPods(t)
	prog := buildDebuggable(t)
	s := plugin(t, "run", "pod/"+target.name, "--", dlvPath(t), "dap", "--listen="+laptopAddr+":0").dir(t.TempDir()).start()
	var addr string
	testenv.Eventually(t, 2*time.Minute, func() bool {
		_, rest, ok := strings.Cut(s.out(), "DAP server listening at: ")
		addr, _, _ = strings.Cut(rest, "\n")
		return ok && strings.Contains(rest, "\n")
	}, func() string { return "dlv dap did not listen:\n" + s.out() + s.err() })
	conn, err := net.DialTimeout("tcp", strings.TrimSpace(addr), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	d := &dapClient{t: t, conn: conn, r: bufio.NewReader(conn)}

	d.call("initialize", map[string]any{"adapterID": "go", "pathFormat": "path", "linesStartAt1": true, "columnsStartAt1": true}, nil)
	d.send("launch", map[string]any{"request": "launch", "mode": "exec", "program": prog,
		"args": []string{"http://" + other.ip + ":8080/dap", "/etc/echo/config/app.conf"}})
	d.await("event", "initialized")
	d.call("setFunctionBreakpoints", map[string]any{"breakpoints": []map[string]string{{"name": "main.report"}}}, nil)
	d.call("configurationDone", map[string]any{}, nil)
	stopped := d.stopped()
	if stopped.Frame.Name != "main.report" {
		t.Fatalf("stopped (%s) at %+v, want main.report\n%s", stopped.Reason, stopped.Frame, s.err())
	}
	eval := func(expr string) string { return d.evaluate(stopped.Frame.ID, "variables", expr) }
	checkCaller(t, eval("body"), target.name, target.ip)
	if got := eval("config"); !strings.Contains(got, "greeting") {
		t.Errorf("config = %q, want the pod's ConfigMap file", got)
	}
	if got := eval("literal"); got != "literal-value" {
		t.Errorf("LITERAL = %q, want the pod's literal-value", got)
	}
	d.call("continue", map[string]any{"threadId": stopped.ThreadID}, nil)
	d.await("event", "terminated")
	d.call("disconnect", map[string]any{"terminateDebuggee": true}, nil)
	if code := s.waitEnd(t); code != 0 {
		t.Fatalf("plugin exit %d\n%s", code, s.err())
	}
}

// dapStop is where the program stopped: why, the thread, its top frame
// (a zero frame when it has none).
type dapStop struct {
	Reason   string
	ThreadID int
	Frame    struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
		Line int    `json:"line"`
	}
}

// stopped waits for the stopped event and reads the thread's top frame.
func (d *dapClient) stopped() dapStop {
	d.t.Helper()
	var ev struct {
		Reason   string `json:"reason"`
		ThreadID int    `json:"threadId"`
	}
	if err := json.Unmarshal(d.await("event", "stopped").Body, &ev); err != nil {
		d.t.Fatal(err)
	}
	st := dapStop{Reason: ev.Reason, ThreadID: ev.ThreadID}
	var trace struct {
		StackFrames []json.RawMessage `json:"stackFrames"`
	}
	d.call("stackTrace", map[string]any{"threadId": ev.ThreadID, "levels": 1}, &trace)
	if len(trace.StackFrames) > 0 {
		if err := json.Unmarshal(trace.StackFrames[0], &st.Frame); err != nil {
			d.t.Fatal(err)
		}
	}
	return st
}

// evaluate evaluates expr in frame, in context as the IDE sends it
// ("watch", "variables"), a string result unquoted.
func (d *dapClient) evaluate(frame int, context, expr string) string {
	d.t.Helper()
	var out struct {
		Result string `json:"result"`
	}
	d.call("evaluate", map[string]any{"expression": expr, "frameId": frame, "context": context}, &out)
	if v, err := strconv.Unquote(out.Result); err == nil {
		return v
	}
	return out.Result
}
