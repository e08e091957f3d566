package tracer

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// refusedAddr is the one destination pathCounter refuses.
var refusedAddr = netip.MustParseAddr("192.0.2.1")

// pathCounter counts the path calls it is asked about and allows them; it
// refuses connects to refusedAddr (ECONNREFUSED), so a test can see one
// reach it. Other connects pass: glibc's try of nscd's socket, which every
// process makes when HOME is unset and a shell looks up its home, is not
// the program's.
type pathCounter struct{ paths, connects atomic.Int64 }

func (h *pathCounter) Path(*Call) Verdict { h.paths.Add(1); return Allow() }
func (h *pathCounter) Socket(c *Call) Verdict {
	if c.Syscall == SysConnect && c.HasAddr && c.Addr.Addr() == refusedAddr {
		h.connects.Add(1)
		return Fail(unix.ECONNREFUSED)
	}
	return Allow()
}

// mountViewFixture is a pod-like tree and two places for it: under a
// directory "/" lacks (a graft of "/", then pivot_root) and under a
// directory that exists but lacks the rest (a graft moved over it).
type mountViewFixture struct {
	copyDir, topDst, existing, nestedDst string
}

func newMountViewFixture(t *testing.T) (mountViewFixture, *MountView) {
	t.Helper()
	f := mountViewFixture{copyDir: t.TempDir(), existing: t.TempDir()}
	if err := os.WriteFile(filepath.Join(f.copyDir, "token"), []byte("pod-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.existing, "mine"), []byte("local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	top := "kubectl-mirror-view-test-" + strconv.Itoa(os.Getpid())
	f.topDst = "/" + top + "/config"
	f.nestedDst = filepath.Join(f.existing, "pod", "secrets")
	stage := t.TempDir()
	v := &MountView{
		Hostname: "api-7d9f", Stage: stage,
		Grafts: []Graft{{Dir: f.existing, Make: []string{"pod/secrets"}}, {Dir: "/", Make: []string{top + "/config"}}},
		Binds:  []Bind{{Src: f.copyDir, Dst: f.topDst}, {Src: f.copyDir, Dst: f.nestedDst}},
	}
	return f, v
}

// The mount view: the pod's paths read from the copy with no stop, writes
// there fail with EROFS (so does a new entry right in a grafted directory:
// it would otherwise vanish with the view), the host name is the pod's, this machine's files
// beside them are untouched, and nothing of it is seen outside.
func TestMountViewServesPathsWithoutStops(t *testing.T) {
	needPtrace(t)
	f, v := newMountViewFixture(t)
	script := `cat ` + f.topDst + `/token; cat ` + f.nestedDst + `/token; cat ` + f.existing + `/mine; hostname
i=0; while [ $i -lt 200 ]; do [ -f ` + f.topDst + `/token ] || echo missing; i=$((i+1)); done
echo x 2>/dev/null > ` + f.topDst + `/new && echo wrote || echo refused
{ echo y > ` + f.existing + `/made-here; } 2>/dev/null && echo made || echo refused
echo more >> ` + f.existing + `/mine && echo appended
python3 -c 'import socket
try: socket.create_connection(("192.0.2.1", 80))
except OSError as e: print(e.strerror)'
pwd`
	h := &pathCounter{}
	dir := t.TempDir()
	tr, r := traceFull(t, Config{Handler: h, Dir: dir, Mounts: v}, "/bin/sh", "-c", script)
	want := "pod-token\npod-token\nlocal\napi-7d9f\nrefused\nrefused\nappended\nConnection refused\n" + dir + "\n"
	if r.stdout != want || r.status.Code != 0 {
		t.Fatalf("in the view: %q (%v), want %q", r.stdout, r.status, want)
	}
	// The shell, a launcher, is not stepped through its loader either: its
	// filter (socket calls alone) goes in at its first call.
	if st := tr.Stats(); !st.MountView || h.paths.Load() != 0 || h.connects.Load() != 1 || st.EntryStops > 20 {
		t.Fatalf("mount view %v (%q), %d path calls and %d connects asked about, %d entry stops; want the view, none, the python child's one, and no stepping",
			st.MountView, st.MountViewRefused, h.paths.Load(), h.connects.Load(), st.EntryStops)
	}
	if _, err := os.Stat(filepath.Dir(f.topDst)); !os.IsNotExist(err) {
		t.Fatalf("%s shows outside the view: %v", filepath.Dir(f.topDst), err)
	}
	if _, err := os.Stat(filepath.Join(f.existing, "pod")); !os.IsNotExist(err) {
		t.Fatalf("the graft wrote to %s: %v", f.existing, err)
	}
	if b, err := os.ReadFile(filepath.Join(f.existing, "mine")); err != nil || string(b) != "local\nmore\n" {
		t.Fatalf("a file of the grafted directory after an append: %q, %v; want it changed on this machine", b, err)
	}
	if host, _ := os.Hostname(); host == "api-7d9f" {
		t.Fatal("the pod's host name leaked to this machine")
	}
}

// A view that cannot be made leaves the program in this machine's
// namespaces with its file calls stopped, and says why; when it is
// required, the program does not run and the reason names the way out.
func TestMountViewFallsBackToStops(t *testing.T) {
	needPtrace(t)
	f, v := newMountViewFixture(t)
	v.Binds = append(v.Binds, Bind{Src: filepath.Join(f.copyDir, "absent"), Dst: f.nestedDst})
	h := &pathCounter{}
	tr, r := traceFull(t, Config{Handler: h, Mounts: v}, "/bin/sh", "-c", "cat "+f.existing+"/mine; ls "+f.existing+"/pod >/dev/null 2>&1 || echo none")
	if r.stdout != "local\nnone\n" || r.status.Code != 0 {
		t.Fatalf("after a failed view: %q (%v)", r.stdout, r.status)
	}
	st := tr.Stats()
	if st.MountView || !strings.Contains(st.MountViewRefused, "absent") || h.paths.Load() == 0 {
		t.Fatalf("view %v, why %q, %d path calls; want no view, the failed mount named, and stops", st.MountView, st.MountViewRefused, h.paths.Load())
	}
	v.Required = true
	errOut, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errOut.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err = Start(ctx, withEngine(Config{Path: "/bin/true", Args: []string{"true"}, Handler: h, Mounts: v, Stdout: os.Stdout, Stderr: errOut}))
	if err != nil {
		t.Fatal(err)
	}
	status, _ := tr.Wait()
	b, _ := os.ReadFile(errOut.Name())
	if status.Code != 127 || !strings.Contains(string(b), "kubectl mirror: --fs-view mount: ") && strings.Contains(string(b), "--fs-view stops") {
		t.Fatalf("a required view that fails: %v, %q; want exit 127 naming --fs-view stops", status, b)
	}
}

// A native program (a build tool, --skip-process) runs with this machine's
// files and host name, as on the stop path; an intercepted program it
// starts (go run's binary) is back in the view; both keep their working
// directory. A native child of an intercepted program (which carries its
// filter) is moved too.
func TestMountViewNativeProgramsLeaveIt(t *testing.T) {
	needPtrace(t)
	f, v := newMountViewFixture(t)
	native := nativeShell(t)
	host, _ := os.Hostname()
	dir := t.TempDir()
	inner := `[ -f ` + f.topDst + `/token ] && echo present || echo absent; read h < /proc/sys/kernel/hostname; echo $h; pwd
python3 -c 'import os, socket; print(open("` + f.topDst + `/token").read().strip(), socket.gethostname(), os.getcwd())'
[ -f ` + f.topDst + `/token ] && echo present || echo absent`
	h := &pathCounter{}
	policy := Policy{Skip: []string{"nativesh"}, Launchers: DefaultLaunchers}
	tr, r := traceFull(t, Config{Handler: h, Dir: dir, Mounts: v, Policy: policy}, "/bin/sh", "-c",
		"cat "+f.topDst+"/token; "+native+" -c '"+strings.ReplaceAll(inner, "'", `'"'"'`)+"'; "+
			`python3 -c 'import subprocess; subprocess.run(["`+native+`", "-c", "[ -f `+f.topDst+`/token ] && echo present || echo absent"])'`)
	want := "pod-token\nabsent\n" + host + "\n" + dir + "\npod-token api-7d9f " + dir + "\nabsent\nabsent\n"
	if r.stdout != want || r.status.Code != 0 {
		t.Fatalf("got %q (%v), want %q", r.stdout, r.status, want)
	}
	if st := tr.Stats(); st.ViewMoves != 3 {
		t.Fatalf("%d moves between the view and this machine's namespaces, want 3 (the native shell out, python3 in, the filtered native shell python3 runs out)", st.ViewMoves)
	}
}

// A process that takes another mount namespace keeps it, as it would
// without the plugin: unshare -m from the view makes a copy of the view,
// whose mounts (a native mount's too) stay in it; nsenter -m joins another
// namespace. A native program whose working directory is a pod path stays
// in the view, where that directory is, and so does what it runs.
func TestMountViewKeepsNamespacesProgramsChoose(t *testing.T) {
	needPtrace(t)
	f, v := newMountViewFixture(t)
	mnt := t.TempDir()
	leaked := func() bool {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		return strings.Contains(string(b), " "+mnt+" ")
	}
	t.Cleanup(func() {
		if leaked() {
			_ = unix.Unmount(mnt, unix.MNT_DETACH)
		}
	})
	native := nativeShell(t)
	script := `view=$(readlink /proc/self/ns/mnt)
own=$(unshare -m --propagation private readlink /proc/self/ns/mnt); [ "$own" != "$view" ] && echo unshared || echo "moved back: $own"
unshare -m --propagation private sh -c 'mount -t tmpfs none ` + mnt + ` && grep -c " ` + mnt + ` " /proc/self/mountinfo'
grep -c " ` + mnt + ` " /proc/self/mountinfo
unshare -m --propagation private sleep 60 & other=$!
while [ "$(readlink /proc/$other/ns/mnt)" = "$view" ]; do sleep 0.01; done
[ "$(nsenter -t $other -m readlink /proc/self/ns/mnt)" = "$(readlink /proc/$other/ns/mnt)" ] && echo joined || echo "not joined"
kill $other
cd ` + f.topDst + ` && ` + native + ` -c 'pwd; [ -f token ] && echo here; python3 -c "import os; print(os.getcwd())"'`
	policy := Policy{Skip: []string{"nativesh", "mount"}, Launchers: DefaultLaunchers}
	tr, r := traceFull(t, Config{Handler: &pathCounter{}, Mounts: v, Policy: policy}, "/bin/sh", "-c", script)
	want := "unshared\n1\n0\njoined\n" + f.topDst + "\nhere\n" + f.topDst + "\n"
	if r.stdout != want || r.status.Code != 0 {
		t.Fatalf("got %q (%v), want %q", r.stdout, r.status, want)
	}
	if !tr.Stats().MountView {
		t.Fatal("no mount view")
	}
	if leaked() {
		t.Fatalf("a native mount in the program's own namespace landed on this machine: %s", mnt)
	}
}

// nativeShell is a copy of dash named nativesh, for a Policy that skips
// it: a program the view must treat as native.
func nativeShell(t *testing.T) string {
	t.Helper()
	native := filepath.Join(t.TempDir(), "nativesh")
	b, err := os.ReadFile("/bin/dash")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(native, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return native
}
