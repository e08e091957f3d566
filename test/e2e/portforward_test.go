//go:build e2e

package e2e

import (
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// port-forward -L from the laptop (which reaches only the API server): a
// Service name resolved by the pod's DNS, its short and its full form, answers
// with the target pod as the caller; a name the pod cannot resolve resets that
// connection and is reported; a /udp forward to the cluster's DNS answers a
// query; the closing lines count per forward; a non-loopback local address is
// refused in one line unless --address accepts it.
func TestPortForwardDialsFromThePod(t *testing.T) {
	target, _ := echoPods(t)
	_, errOut, code := plugin(t, "port-forward", "pod/"+target.name, "-L", "0.0.0.0:18090:echo:80").run()
	if line := oneErrorLine(t, errOut); code == 0 || !strings.Contains(line, "add --address 0.0.0.0") {
		t.Fatalf("a forward on every address was not refused in one line: exit %d: %s", code, errOut)
	}
	s := plugin(t, "port-forward", "pod/"+target.name, "-L", "18090:echo:80",
		"-L", "127.0.0.1:18091:echo.default.svc.cluster.local:80", "-L", "18092:no-such-service:80",
		"-L", "15353:kube-dns.kube-system:53/udp").start()
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Count(s.err(), "forwarding ") == 4 }, s.err)
	for _, port := range []string{"18090", "18091"} {
		out, err := inLaptop(t, 30*time.Second, "curl", "-sS", "http://127.0.0.1:"+port+"/pf-"+port)
		if err != nil || !strings.Contains(out, `"path":"/pf-`+port+`"`) {
			t.Fatalf("through -L %s: %v\n%s\n%s", port, err, out, s.err())
		}
		checkCaller(t, out, target.name, target.ip)
	}
	if out, err := inLaptop(t, 30*time.Second, "curl", "-sS", "http://127.0.0.1:18092/"); err == nil {
		t.Fatalf("a forward to a name the pod cannot resolve answered: %s", out)
	}
	// The cluster's DNS, which only pods reach, answers a query sent to the
	// local UDP port: the echo Service's address.
	out, err := inLaptop(t, 30*time.Second, "python3", "-c", dnsQueryPy, "127.0.0.1", "15353", "echo.default.svc.cluster.local")
	if want := serviceIP(t, "echo"); err != nil || strings.TrimSpace(out) != want {
		t.Fatalf("the DNS answer through -L .../udp is %q (%v), want %s\n%s", out, err, want, s.err())
	}
	s.stop(t)
	for _, want := range []string{
		"no-such-service:80: ",
		"-L 127.0.0.1:18090 -> echo:80: 1 connection forwarded",
		"-L 127.0.0.1:18092 -> no-such-service:80: 0 connections forwarded, 0 B out, 0 B in; 1 connection the pod could not make",
		"-L 127.0.0.1:15353 -> kube-dns.kube-system:53/udp: 1 flow forwarded",
	} {
		if !strings.Contains(s.err(), want) {
			t.Fatalf("the closing lines miss %q:\n%s", want, s.err())
		}
	}
}

// dnsQueryPy sends one A query for NAME to HOST:PORT over UDP and prints the
// answer's last address.
const dnsQueryPy = `
import socket, struct, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
q = struct.pack(">HHHHHH", 0x4d31, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(q, (host, port))
r, _ = s.recvfrom(4096)
ident, flags, qd, an = struct.unpack(">HHHH", r[:8])
if ident != 0x4d31 or an == 0:
    sys.exit("no answer: flags %x, %d answers" % (flags, an))
print(socket.inet_ntoa(r[-4:]))
`

// port-forward -R from the laptop, no program traced: the echo pods' port
// 8080 is stolen with a filter, so requests through the Service that carry
// the header reach a server in the laptop namespace and the rest the pods;
// a port nothing in the pod listens on is stolen too;
// with that server gone a matching client gets a closed connection and the
// failure is told and counted; after Ctrl-C the pods answer again and no
// rule of ours is left in them. Bad specs are one line each.
func TestPortForwardReverseSteals(t *testing.T) {
	programs(t)
	target, other := echoPods(t)
	for spec, want := range map[string]string{
		"8080:18081":                      "want REMOTE_PORT:LOCAL_HOST:LOCAL_PORT",
		"8080:no-such-host.invalid:18081": "does not resolve on this machine",
		"8080:127.0.0.1:18081/udp":        "only TCP ports can be stolen",
	} {
		_, errOut, code := plugin(t, "port-forward", "deploy/echo", "-R", spec).run()
		if line := oneErrorLine(t, errOut); code == 0 || !strings.Contains(line, want) {
			t.Fatalf("-R %s: exit %d, want one line saying %q:\n%s", spec, code, want, errOut)
		}
	}
	server := exec.Command(laptopScript(t), "exec", testProgs.httpserve, "18081")
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = server.Process.Kill(); _ = server.Wait() })

	s := plugin(t, "port-forward", "deploy/echo", "-R", "8080:127.0.0.1:18081", "-R", "8099:127.0.0.1:18081",
		"--http-filter", "header:X-Pfwd: ^yes$").start()
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Contains(s.err(), "forwarding the pod's port 8099") }, s.err)
	if n := strings.Count(s.err(), "on 2 of 2 pods"); n != 2 {
		t.Fatalf("progress does not say both pods are stolen, for both ports:\n%s", s.err())
	}
	if local, pods := serviceHits(t, "echo", "rf", 20, "X-Pfwd: yes"); local != 20 || pods != 0 {
		t.Fatalf("with the header: %d reached the local server, %d a pod (want 20, 0)\n%s", local, pods, s.err())
	}
	if local, pods := serviceHits(t, "echo", "rf", 10, ""); local != 0 || pods != 10 {
		t.Fatalf("without the header: %d reached the local server, %d a pod (want 0, 10)", local, pods)
	}

	// A port nothing in the pod listens on is stolen all the same.
	if out := fromToolbox(t, "timeout 5 wget -qO- --header 'X-Pfwd: yes' http://"+target.ip+":8099/no-listener"); !strings.Contains(out, `"local":true`) {
		t.Fatalf("the pod's port 8099, where nothing listens, was not served by the local server: %s", out)
	}

	_ = server.Process.Kill()
	_ = server.Wait()
	out := fromToolbox(t, "timeout 10 wget -qO- --header 'X-Pfwd: yes' http://echo/server-gone 2>&1; echo exit=$?")
	if !strings.Contains(out, "exit=1") || strings.Contains(out, `"pod":"`) {
		t.Fatalf("with the local server gone, a matching request was not closed: %s", out)
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return strings.Contains(s.err(), "the client's connection was closed") }, s.err)

	interrupted := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	s.ended(t, "Ctrl-C", 30*time.Second)
	testenv.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(fromToolbox(t, "timeout 5 wget -qO- --header 'X-Pfwd: yes' http://"+target.ip+":8080/after 2>&1; true"), `"pod":"`+target.name+`"`)
	}, s.err)
	t.Logf("the pod answered again %s after Ctrl-C", time.Since(interrupted).Round(10*time.Millisecond))
	checkRestored(t, target.name, target.ip)
	checkRestored(t, other.name, other.ip)
	for _, want := range []string{
		"-R 8080:127.0.0.1:18081: 20 connections forwarded",
		"; 1 connection not made on this machine",
		"-R 8099:127.0.0.1:18081: 1 connection forwarded",
	} {
		if !strings.Contains(s.err(), want) {
			t.Fatalf("the closing lines miss %q:\n%s", want, s.err())
		}
	}
}

// stallPy connects to 127.0.0.1:PORT, sends until the other side stops
// taking its bytes (it never reads the echo), says so, and holds on.
const stallPy = `import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(2)
try:
    while True:
        s.sendall(b"x" * 65536)
except socket.timeout:
    print("stalled", flush=True)
time.sleep(120)`

// A forwarded connection whose client stopped reading (the echo's answer
// piles up) does not keep port-forward from ending: Ctrl-C closes both of
// its ends, and the closing lines are printed.
func TestPortForwardEndsWithAStalledConnection(t *testing.T) {
	target, _ := echoPods(t)
	s := plugin(t, "port-forward", "pod/"+target.name, "-L", "18095:echo:9000").start()
	testenv.Eventually(t, 90*time.Second, func() bool { return strings.Contains(s.err(), "forwarding ") }, s.err)
	client := exec.Command(laptopScript(t), "exec", "python3", "-c", stallPy, "18095")
	out, err := client.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Process.Kill(); _ = client.Wait() }()
	line := make([]byte, 8)
	if n, _ := io.ReadFull(out, line); string(line[:n]) != "stalled\n" {
		t.Fatalf("the client never stalled: %q\n%s", line[:n], s.err())
	}
	s.stop(t) // fails the test if the plugin does not end
	if !strings.Contains(s.err(), "-L 127.0.0.1:18095 -> echo:9000: 1 connection forwarded") {
		t.Fatalf("no closing line:\n%s", s.err())
	}
}
