//go:build e2e

package e2e

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// timedConnectPy connects to HOST PORT with a timeout of TIMEOUT seconds,
// blocking (sync) or with asyncio (async), says "ping" and reads the answer;
// it prints whether it connected and how long the connect took as it
// measures it.
const timedConnectPy = `import asyncio, socket, sys, time
host, port, to, mode = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
t0 = time.monotonic()
try:
    if mode == 'sync':
        s = socket.create_connection((host, port), timeout=to)
        took = time.monotonic() - t0
        s.settimeout(10); s.sendall(b'ping\n'); data = s.recv(100)
    else:
        async def go():
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), to)
            took = time.monotonic() - t0
            w.write(b'ping\n'); return took, await asyncio.wait_for(r.read(100), 10)
        took, data = asyncio.run(go())
    print('connected %d bytes connect=%.3f' % (len(data), took))
except (OSError, asyncio.TimeoutError) as e:
    print('failed %s errno=%s connect=%.3f' % (type(e).__name__, getattr(e, 'errno', None), time.monotonic() - t0))
`

// timedConnectJava is the same with Socket.connect(addr, timeout ms).
const timedConnectJava = `import java.io.*; import java.net.*;
public class TimedConnect { public static void main(String[] a) throws Exception {
  Socket s = new Socket(); long t0 = System.nanoTime();
  try {
    s.connect(new InetSocketAddress(a[0], Integer.parseInt(a[1])), Integer.parseInt(a[2]));
    double took = (System.nanoTime() - t0) / 1e9;
    s.setSoTimeout(10000); s.getOutputStream().write("ping\n".getBytes());
    int n = s.getInputStream().read(new byte[100]);
    System.out.printf("connected %d bytes connect=%.3f%n", n, took);
  } catch (IOException e) {
    System.out.printf("failed %s connect=%.3f%n", e.getClass().getSimpleName(), (System.nanoTime() - t0) / 1e9);
  }
}}
`

// manyConnectsJava makes N connects with a timeout to HOST PORT in one JVM
// and counts those that failed: Java checks POLLHUP as well as SO_ERROR,
// so a socket that polled hung up for an instant would fail its connect.
const manyConnectsJava = `import java.net.*;
public class ManyConnects { public static void main(String[] a) throws Exception {
  int ok = 0, fail = 0; String last = "";
  for (int i = 0; i < Integer.parseInt(a[2]); i++) {
    try (Socket s = new Socket()) { s.connect(new InetSocketAddress(a[0], Integer.parseInt(a[1])), 5000); ok++; }
    catch (Exception e) { fail++; last = e.toString(); }
  }
  System.out.println("java ok=" + ok + " fail=" + fail + " " + last);
}}
`

// timedConnectPrograms are the programs under test: argv without HOST PORT
// and timeout, which add(host, port, seconds) appends.
func timedConnectPrograms(t *testing.T) map[string]func(host string, port int, seconds float64) []string {
	t.Helper()
	dir := t.TempDir()
	py := filepath.Join(dir, "timed_connect.py")
	if err := os.WriteFile(py, []byte(timedConnectPy), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"TimedConnect.java": timedConnectJava, "ManyConnects.java": manyConnectsJava} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("javac", "-d", dir, filepath.Join(dir, name)).CombinedOutput(); err != nil {
			t.Fatalf("javac: %v\n%s", err, out)
		}
	}
	secs := func(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
	return map[string]func(string, int, float64) []string{
		"python": func(h string, p int, s float64) []string {
			return []string{"python3", py, h, strconv.Itoa(p), secs(s), "sync"}
		},
		"asyncio": func(h string, p int, s float64) []string {
			return []string{"python3", py, h, strconv.Itoa(p), secs(s), "async"}
		},
		"java": func(h string, p int, s float64) []string {
			return []string{"java", "-cp", dir, "TimedConnect", h, strconv.Itoa(p), strconv.Itoa(int(s * 1000))}
		},
		// Not a timed program: N connects (the timeout's place), for
		// TestManyParkedConnectsAllSucceed.
		"java many": func(h string, p int, n float64) []string {
			return []string{"java", "-cp", dir, "ManyConnects", h, strconv.Itoa(p), strconv.Itoa(int(n))}
		},
	}
}

// connectResult parses a timed program's line: connected or not, and the
// connect's duration as the program measured it.
func connectResult(t *testing.T, name, out string) (connected bool, took float64) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		i := strings.Index(l, "connect=")
		if i < 0 {
			continue
		}
		took, err := strconv.ParseFloat(strings.TrimSpace(l[i+len("connect="):]), 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", name, l, err)
		}
		return strings.HasPrefix(l, "connected ") && !strings.HasPrefix(l, "connected 0 "), took
	}
	t.Fatalf("%s printed no result:\n%s", name, out)
	return false, 0
}

// Python's create_connection(timeout=1), asyncio's wait_for(open_connection,
// 1) and Java's connect(addr, 1000) towards the echo pod's port that never
// answers end when the program's own timer says, within 50 ms of 1 s as the
// program measures it from the call's start: the non-blocking connect
// returns at once instead of waiting for the pod's dial.
func TestNonblockingConnectTimeoutIsTheProgramsOwn(t *testing.T) {
	target, other := echoPods(t)
	for name, argv := range timedConnectPrograms(t) {
		if name == "java many" {
			continue
		}
		out, errOut, _ := plugin(t, append([]string{"run", "pod/" + target.name, "--dial-timeout", "60s", "--"}, argv(other.ip, 9003, 1)...)...).run()
		connected, took := connectResult(t, name, out+"\n"+errOut)
		t.Logf("%s: connect to a silent port ended after %.3f s", name, took)
		if connected || took < 0.95 || took > 1.05 {
			t.Errorf("%s: connect with a 1 s timeout to a silent port: connected=%v after %.3f s, want a timeout within 50 ms of 1 s\n%s%s", name, connected, took, out, errOut)
		}
		if !strings.Contains(errOut, "1 connection through the pod failed") {
			t.Errorf("%s: the summary does not count the connect that timed out:\n%s", name, errOut)
		}
	}
}

// The same programs connect at once to the echo pod's TCP echo port, and
// still connect to a destination whose answer takes longer than 0.5 s (a
// listener on this machine that drops the pod's first SYN): the pod's dial
// completes the program's connect, whose own timeout is 5 s.
func TestNonblockingConnectFastAndSlow(t *testing.T) {
	target, other := echoPods(t)
	slow := newSlowListener(t)
	for name, argv := range timedConnectPrograms(t) {
		if name == "java many" {
			continue
		}
		out, errOut, _ := plugin(t, append([]string{"run", "pod/" + target.name, "--"}, argv(other.ip, 9000, 5)...)...).run()
		connected, took := connectResult(t, name+" fast", out+"\n"+errOut)
		t.Logf("%s: connect to the echo port took %.3f s", name, took)
		if !connected {
			t.Errorf("%s: no connection to the echo port:\n%s%s", name, out, errOut)
		}
		// A closed port of the pod: refused, as the pod's connect is.
		out, errOut, _ = plugin(t, append([]string{"run", "pod/" + target.name, "--"}, argv(other.ip, 9999, 5)...)...).run()
		if connected, _ := connectResult(t, name+" refused", out+"\n"+errOut); connected || !strings.Contains(out, "failed ConnectionRefusedError") && !strings.Contains(out, "failed ConnectException") {
			t.Errorf("%s: connect to a closed port: want refused, got:\n%s%s", name, out, errOut)
		}
		slow.arm()
		out, errOut, _ = plugin(t, append([]string{"run", "pod/" + target.name, "--"}, argv(slow.ip, slow.port, 5)...)...).run()
		connected, took = connectResult(t, name+" slow", out+"\n"+errOut)
		t.Logf("%s: connect to a destination answering its second SYN took %.3f s (slowed: %v)", name, took, slow.wasSlow())
		if !connected {
			t.Errorf("%s: no connection to the slow destination:\n%s%s", name, out, errOut)
		}
	}
}

// A blocking connect (glibc) whose dial takes longer than 0.5 s is parked,
// then joined when the dial succeeds (getpeername names the destination),
// and fails with the pod's errno when it fails.
func TestBlockingParkedConnect(t *testing.T) {
	_, cGlibc, _ := programs(t)
	target, _ := echoPods(t)
	slow := newSlowListener(t)
	slow.arm()
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", cGlibc, "tcp", slow.ip, strconv.Itoa(slow.port)).run()
	t.Logf("slowed: %v", slow.wasSlow())
	if code != 0 || !strings.HasPrefix(out, "peer "+slow.ip+":"+strconv.Itoa(slow.port)+"\nread slow hello") {
		t.Errorf("blocking connect to a slow destination: exit %d, stdout %q\n%s", code, out, errOut)
	}
	_, errOut, code = plugin(t, "run", "pod/"+target.name, "--dial-timeout=3s", "--", cGlibc, "tcp", "10.244.0.250", "80").run()
	if code != 1 || !strings.Contains(errOut, "connect: Connection timed out") && !strings.Contains(errOut, "connect: No route to host") {
		t.Errorf("blocking connect to an address nobody has: exit %d, want the pod's ETIMEDOUT or EHOSTUNREACH\n%s", code, errOut)
	}
}

// A dial from the pod that fails otherwise than refused shows its own errno
// through SO_ERROR after a non-blocking connect: an address on the pod
// network where nobody lives is unreachable (or times out) in the pod.
func TestNonblockingConnectShowsThePodsErrno(t *testing.T) {
	target, _ := echoPods(t)
	argv := timedConnectPrograms(t)["python"]
	out, errOut, _ := plugin(t, append([]string{"run", "pod/" + target.name, "--dial-timeout=3s", "--"}, argv("10.244.0.250", 80, 20)...)...).run()
	t.Logf("python: %s", strings.TrimSpace(out))
	if connected, _ := connectResult(t, "python", out+"\n"+errOut); connected || !strings.Contains(out, "errno=113 ") && !strings.Contains(out, "errno=110 ") {
		t.Errorf("connect to an address nobody has: want EHOSTUNREACH (113) or ETIMEDOUT (110), got:\n%s%s", out, errOut)
	}
}

// 300 fast connects of one Java program, each parked and joined, all
// succeed: the program's socket goes from connecting to connected with no
// state between that Java's check of POLLHUP would see.
func TestManyParkedConnectsAllSucceed(t *testing.T) {
	target, other := echoPods(t)
	argv := timedConnectPrograms(t)["java many"]
	out, errOut, _ := plugin(t, append([]string{"run", "pod/" + target.name, "--"}, argv(other.ip, 9000, 300)...)...).run()
	if !strings.Contains(out, "java ok=300 fail=0") || !strings.Contains(errOut, "300 connections through the pod") {
		t.Fatalf("300 connects to the echo port:\n%s%s", out, errOut)
	}
}

// The program's close of a parked, joined connection ends it at once: the
// server (on this machine, reached from the pod) reads EOF while the
// program still runs (it sleeps 5 s after its close).
func TestParkedConnectionEndsAtTheProgramsClose(t *testing.T) {
	target, _ := echoPods(t)
	ln, err := net.Listen("tcp4", "10.244.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	eof := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("hi\n"))
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := io.Copy(io.Discard, c); err == nil { // EOF
			close(eof)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	prog := "import socket, time\ns = socket.create_connection(('10.244.0.1', " + strconv.Itoa(port) + "), timeout=5)\nprint(s.recv(10))\ns.close()\ntime.sleep(5)\n"
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", "python3", "-c", prog).run()
		if code != 0 {
			t.Errorf("exit %d\n%s%s", code, out, errOut)
		}
	}()
	select {
	case <-eof:
	case <-ended:
		t.Fatal("the server saw no EOF while the program lived on after its close")
	}
	<-ended
}

// slowListener listens on this machine's address on the pod bridge with a
// full accept queue, so the pod's SYN is dropped; 700 ms after the kernel
// counts a dropped SYN the queue is emptied, and the pod's retransmission
// (1 s after its first SYN) is taken: a dial that takes about 1 s.
type slowListener struct {
	ip      string
	port    int
	ln      *net.TCPListener
	armed   chan chan bool
	slowed  chan bool
	lastRun bool
}

func newSlowListener(t *testing.T) *slowListener {
	t.Helper()
	const hostOnPodBridge = "10.244.0.1"
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{10, 244, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "slow")
	l, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := &slowListener{ip: hostOnPodBridge, ln: l.(*net.TCPListener), armed: make(chan chan bool)}
	s.port = s.ln.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { s.ln.Close() })
	go s.serve()
	return s
}

// arm fills the queue for the next run.
func (s *slowListener) arm() {
	s.slowed = make(chan bool, 1)
	s.armed <- s.slowed
}

func (s *slowListener) wasSlow() bool {
	select {
	case v := <-s.slowed:
		s.lastRun = v
	default:
	}
	return s.lastRun
}

func (s *slowListener) serve() {
	for slowed := range s.armed {
		var fillers []net.Conn
		for range 2 {
			if c, err := net.DialTimeout("tcp4", s.ln.Addr().String(), time.Second); err == nil {
				fillers = append(fillers, c)
			}
		}
		// Wait for a dropped SYN (up to 60 s: the plugin starts first).
		before, dropped := listenDrops(), false
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			if listenDrops() > before {
				dropped = true
				break
			}
		}
		if dropped {
			time.Sleep(700 * time.Millisecond)
		}
		for range fillers { // empties the queue: the next SYN is taken
			if c, err := s.ln.Accept(); err == nil {
				c.Close()
			}
		}
		for _, c := range fillers {
			c.Close()
		}
		slowed <- dropped
		_ = s.ln.SetDeadline(time.Now().Add(30 * time.Second))
		if c, err := s.ln.Accept(); err == nil {
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			_, _ = c.Write([]byte("slow hello\n"))
			_, _ = bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
		_ = s.ln.SetDeadline(time.Time{})
	}
}

// listenDrops is this network namespace's count of SYNs dropped at a full
// listen queue.
func listenDrops() int64 {
	b, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return 0
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) == 0 || names[0] != "TcpExt:" || len(names) != len(values) {
			continue
		}
		for j, n := range names {
			if n == "ListenDrops" {
				v, _ := strconv.ParseInt(values[j], 10, 64)
				return v
			}
		}
	}
	return 0
}
