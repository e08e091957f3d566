package tracer

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Handler decides what intercepted syscalls do. Its methods run on the
// tracer's thread while the calling thread is stopped: they must return
// quickly, and return Hold() to decide later from another goroutine.
type Handler interface {
	Socket(*Call) Verdict
	Path(*Call) Verdict
}

// Call is one intercepted syscall, stopped before it runs.
type Call struct {
	PID   int    // the process (thread group) id
	TID   int    // the calling thread
	Name  string // syscall name: "connect", "openat", ...
	Nr    uint64
	Args  [6]uint64
	Class Class

	// Socket calls.
	FD         int            // the socket
	Addr       netip.AddrPort // the destination (connect, bind, sendto, sendmsg); valid when HasAddr
	HasAddr    bool
	SockFamily uint16 // AF_INET or AF_INET6 of Addr

	// Path calls.
	Path     string // absolute and cleaned, resolved against the cwd or dirfd
	RawPath  string // as the program passed it
	OpenFlag int    // open flags (open, openat, openat2), else 0
	// Mutates: the call changes the file system (mkdir, unlink, rename,
	// chmod, ...); Path2 is the second path it changes (rename, link).
	Mutates bool
	Path2   string

	stop       callStop // the engine the call waits in, and where
	outAddr    taddr    // where getpeername/recvfrom/recvmsg write the address
	outAddrCap int      // the size of that buffer at entry
}

// callStop is where a call waits for its verdict: in the ptrace engine, a
// thread at a seccomp stop (*ptraceStop); in the notification engine, a
// notification on a listener (*notification).
type callStop interface {
	// resume carries out the verdict of a held call; any goroutine.
	resume(c *Call, v Verdict)
}

// Resume applies the verdict of a call whose handler returned Hold(). It is
// safe from any goroutine; a call whose thread has died meanwhile is dropped.
func (c *Call) Resume(v Verdict) {
	if v.hold {
		panic("tracer: Resume(Hold())")
	}
	c.stop.resume(c, v)
}

// String reads the NUL-terminated string argument arg points at (a
// symlink's target, say).
func (c *Call) String(arg int) (string, error) {
	return readCString(c.TID, taddr(c.Args[arg]), make([]byte, pageSize))
}

// Read fills b from the program's memory at addr (a struct argument).
func (c *Call) Read(addr uint64, b []byte) error { return readMem(c.TID, taddr(addr), b) }

// Verdict is a handler's decision.
type Verdict struct {
	hold   bool
	skip   bool // Return: the syscall does not run and returns ret
	ret    int64
	errno  unix.Errno
	addr   *netip.AddrPort
	path   *string
	atExit func(*Exit)
}

// Allow lets the syscall run unchanged.
func Allow() Verdict { return Verdict{} }

// Fail makes the syscall return -errno without running it.
func Fail(errno unix.Errno) Verdict { return Verdict{errno: errno} }

// Return makes the syscall return v without running it (the handler did
// its work elsewhere).
func Return(v int64) Verdict { return Verdict{skip: true, ret: v} }

// Hold keeps the calling thread stopped until Call.Resume.
func Hold() Verdict { return Verdict{hold: true} }

// Redirect runs a socket call (connect, bind, sendto, sendmsg) against addr
// instead of the original address. The program's registers and memory look
// unchanged once the syscall returns.
func Redirect(addr netip.AddrPort) Verdict { return Verdict{addr: &addr} }

// ReplacePath runs a path call on path instead of the original one.
func ReplacePath(path string) Verdict { return Verdict{path: &path} }

// AtExit also runs f when the syscall returns, to read or fix up its result.
func (v Verdict) AtExit(f func(*Exit)) Verdict {
	v.atExit = f
	return v
}

// Exit is a syscall that has just returned.
type Exit struct {
	Call   *Call
	Result int64 // the return value, -errno on failure
}

// SetResult changes what the syscall returns (-errno to fail it).
func (e *Exit) SetResult(v int64) { e.Result = v }

// SetSockoptInt replaces the int a successful getsockopt wrote (SO_ERROR).
func (e *Exit) SetSockoptInt(v int32) bool {
	if e.Call.Name != "getsockopt" || e.Result != 0 {
		return false
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	return writeMem(e.Call.TID, taddr(e.Call.Args[3]), b[:]) == nil
}

// SockoptInt reads the int a successful getsockopt wrote.
func (e *Exit) SockoptInt() (int32, bool) {
	var b [4]byte
	if e.Call.Name != "getsockopt" || e.Result != 0 || readMem(e.Call.TID, taddr(e.Call.Args[3]), b[:]) != nil {
		return 0, false
	}
	return int32(binary.LittleEndian.Uint32(b[:])), true
}

// ResultAddr reads the address a getpeername, recvfrom or recvmsg returned.
func (e *Exit) ResultAddr() (netip.AddrPort, bool) {
	ptr, size := e.Call.outAddr, e.Call.outAddrCap
	if ptr == 0 || size < 2 || e.Result < 0 {
		return netip.AddrPort{}, false
	}
	b := make([]byte, min(size, sizeofSockaddrInet6))
	if readMem(e.Call.TID, taddr(ptr), b) != nil {
		return netip.AddrPort{}, false
	}
	ap, _, ok := decodeSockaddr(b)
	return ap, ok
}

// SetResultAddr replaces the address a getpeername, recvfrom or recvmsg
// returned, in the socket's own family, truncated to the program's buffer as
// the kernel would.
func (e *Exit) SetResultAddr(ap netip.AddrPort) bool {
	ptr, size := e.Call.outAddr, e.Call.outAddrCap
	if ptr == 0 || size < 2 || e.Result < 0 {
		return false
	}
	var fam [2]byte
	if readMem(e.Call.TID, taddr(ptr), fam[:]) != nil {
		return false
	}
	b := encodeSockaddr(uint16(fam[0])|uint16(fam[1])<<8, ap)
	return writeMem(e.Call.TID, taddr(ptr), b[:min(len(b), size)]) == nil
}
