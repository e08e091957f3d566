package tracer

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testnet"
)

// redirector is a test Handler standing in for a session: destinations and
// paths in its maps go to local stand-ins, and results that name a stand-in
// are translated back to the original address.
type redirector struct {
	addrs   map[netip.AddrPort]netip.AddrPort // original -> local stand-in
	reverse map[netip.AddrPort]netip.AddrPort
	paths   map[string]string
	refuse  map[netip.AddrPort]bool
	async   bool          // decide connect/sendto on another goroutine (Hold + Resume)
	delay   time.Duration // with async: how long the decision takes

	mu    sync.Mutex
	calls map[Sysno]int
}

func newRedirector() *redirector {
	return &redirector{addrs: map[netip.AddrPort]netip.AddrPort{}, reverse: map[netip.AddrPort]netip.AddrPort{},
		paths: map[string]string{}, refuse: map[netip.AddrPort]bool{}, calls: map[Sysno]int{}}
}

func (r *redirector) route(orig, local netip.AddrPort) {
	r.addrs[orig] = local
	r.reverse[local] = orig
}

func (r *redirector) Socket(c *Call) Verdict {
	r.mu.Lock()
	r.calls[c.Syscall]++
	r.mu.Unlock()
	switch c.Syscall {
	case SysConnect, SysSendto, SysSendmsg:
		if !c.HasAddr {
			return Allow()
		}
		orig := netip.AddrPortFrom(c.Addr.Addr().Unmap(), c.Addr.Port())
		var v Verdict
		switch local, ok := r.addrs[orig]; {
		case r.refuse[orig]:
			v = Fail(unix.ECONNREFUSED)
		case ok:
			v = Redirect(local)
		default:
			return Allow()
		}
		if r.async {
			go func() {
				time.Sleep(r.delay) // the behaviour under test: a decision that takes this long (the pod's dial)
				c.Resume(v)
			}()
			return Hold()
		}
		return v
	case SysGetpeername, SysRecvfrom, SysRecvmsg:
		return Allow().AtExit(func(e *Exit) {
			got, ok := e.ResultAddr()
			if !ok {
				return
			}
			if orig, ok := r.reverse[netip.AddrPortFrom(got.Addr().Unmap(), got.Port())]; ok {
				e.SetResultAddr(orig)
			}
		})
	}
	return Allow()
}

func (r *redirector) Path(c *Call) Verdict {
	if repl, ok := r.paths[c.Path]; ok {
		return ReplacePath(repl)
	}
	return Allow()
}

// replacedFile returns a redirector that replaces original with a
// temporary file holding content.
func replacedFile(t *testing.T, original, content string) *redirector {
	t.Helper()
	substitute := filepath.Join(t.TempDir(), "substitute")
	if err := os.WriteFile(substitute, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newRedirector()
	h.paths[original] = substitute
	return h
}

// tcpGreeter serves one line on loopback and returns its address.
func tcpGreeter(t *testing.T, line string) netip.AddrPort {
	t.Helper()
	return testnet.Serve(t, func(c net.Conn) {
		_, _ = c.Write([]byte(line + "\n"))
		c.Close()
	})
}

// udpEcho answers each datagram with "echo:" + payload on loopback.
func udpEcho(t *testing.T) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(append([]byte("echo:"), buf[:n]...), from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Addresses in TEST-NET ranges: this namespace has no route to them, so a
// connection that arrives anywhere was redirected.
var (
	unroutableTCP = netip.MustParseAddrPort("192.0.2.10:80")
	unroutableUDP = netip.MustParseAddrPort("192.0.2.53:53")
	closedTCP     = netip.MustParseAddrPort("192.0.2.11:81")
)

func TestConnectIsRedirectedAndPeerNameIsOriginal(t *testing.T) {
	needPtrace(t)
	for _, async := range []bool{false, true} {
		h := newRedirector()
		h.async = async
		h.route(unroutableTCP, tcpGreeter(t, "hello from the stand-in"))
		for _, argv := range [][]string{
			{progs.goStatic, "tcp", unroutableTCP.String()},
			{progs.goCgo, "tcp", unroutableTCP.String()},
			{progs.cGlibc, "tcp", unroutableTCP.Addr().String(), "80"},
			{progs.cMusl, "tcp", unroutableTCP.Addr().String(), "80"},
		} {
			if native := runNative(t, "", argv...); native.status.Code == 0 {
				t.Fatalf("%v reached %s natively: the namespace is not isolated", argv, unroutableTCP)
			}
			got := runTraced(t, h, "", argv...)
			want := "peer 192.0.2.10:80\nread hello from the stand-in\n"
			if got.status != (Status{}) || got.stdout != want {
				t.Errorf("async=%v %v: got %+v, want %q", async, filepath.Base(argv[0]), got, want)
			}
		}
	}
}

func TestConnectFailsWithTheHandlersErrno(t *testing.T) {
	needPtrace(t)
	h := newRedirector()
	h.refuse[closedTCP] = true
	got := runTraced(t, h, "", progs.cGlibc, "tcp", closedTCP.Addr().String(), "81")
	if got.status.Code != 1 {
		t.Fatalf("got %+v, want exit 1 with connect: Connection refused", got)
	}
	goRes := runTraced(t, h, "", progs.goStatic, "tcp", closedTCP.String())
	if goRes.status.Code != 1 {
		t.Fatalf("static Go: got %+v, want a refused dial", goRes)
	}
}

func TestUnconnectedUDPRoundTripsWithOriginalSource(t *testing.T) {
	needPtrace(t)
	h := newRedirector()
	h.route(unroutableUDP, udpEcho(t))
	for _, argv := range [][]string{
		{progs.goStatic, "udp", unroutableUDP.String(), "ping"},
		{progs.cGlibc, "udp", unroutableUDP.Addr().String(), "53", "ping"},
		{progs.cMusl, "udp", unroutableUDP.Addr().String(), "53", "ping"},
	} {
		got := runTraced(t, h, "", argv...)
		want := "from 192.0.2.53:53\nreply echo:ping\n"
		if got.status != (Status{}) || got.stdout != want {
			t.Errorf("%v: got %+v, want %q", filepath.Base(argv[0]), got, want)
		}
	}
}

func TestPathIsReplacedAndStatAgrees(t *testing.T) {
	needPtrace(t)
	const original = "/etc/kubectl-mirror-test/app.conf" // does not exist on this machine
	const content = "substituted content, 40 bytes long.....\n"
	h := replacedFile(t, original, content)
	for _, argv := range [][]string{
		{progs.goStatic, "cat", original},
		{progs.cGlibc, "cat", original},
		{progs.cMusl, "cat", original},
		{"python3", "-c", "import os; print(open('" + original + "').read(), end=''); print('size', os.stat('" + original + "').st_size)"},
	} {
		got := runTraced(t, h, "", argv...)
		if got.status != (Status{}) || !strings.HasPrefix(got.stdout, content) {
			t.Errorf("%v: got %+v", filepath.Base(argv[0]), got)
		}
		if strings.Contains(got.stdout, "size") && !strings.Contains(got.stdout, "size 40") {
			t.Errorf("%v: stat disagrees with open: %q", filepath.Base(argv[0]), got.stdout)
		}
	}
	got := runTraced(t, h, "", progs.goStatic, "stat", original)
	if got.stdout != "size 40\n" {
		t.Errorf("static Go stat: got %+v", got)
	}
}

// TestRewritesAcrossForkAndThreads: the scratch region mapped in a parent is
// inherited by a forked child (copied address space) and shared by threads.
func TestRewritesAcrossForkAndThreads(t *testing.T) {
	needPtrace(t)
	const original = "/etc/kubectl-mirror-test/fork.txt"
	h := replacedFile(t, original, "substituted")
	script := `import os, threading
P = "` + original + `"
print("parent", open(P).read(), flush=True)  # before fork: a pipe is block-buffered
pid = os.fork()
if pid == 0:
    print("child", open(P).read(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
out = []
ts = [threading.Thread(target=lambda: out.append(open(P).read())) for _ in range(16)]
[x.start() for x in ts]; [x.join() for x in ts]
print("threads", len(out), set(out))`
	got := runTraced(t, h, "", "python3", "-c", script)
	want := "parent substituted\nchild substituted\nthreads 16 {'substituted'}\n"
	if got.status != (Status{}) || got.stdout != want {
		t.Fatalf("got %+v, want %q", got, want)
	}
}

// TestIPv6ConnectIsRedirected: an IPv6 destination on an AF_INET6 socket goes
// to an IPv6 loopback stand-in, and getpeername names the original, under
// both engines.
func TestIPv6ConnectIsRedirected(t *testing.T) {
	needPtrace(t)
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		testenv.Skip(t, "no IPv6 loopback here: "+err.Error())
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello over v6\n"))
			c.Close()
		}
	}()
	orig := netip.MustParseAddrPort("[2001:db8::10]:80")
	h := newRedirector()
	h.route(orig, ln.Addr().(*net.TCPAddr).AddrPort())
	onBothEngines(t, h, "peer [2001:db8::10]:80\nread hello over v6\n", progs.goStatic, "tcp", orig.String())
}
