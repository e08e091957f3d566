package tracer

import (
	"net/netip"

	"golang.org/x/sys/unix"
)

// Handler decides what intercepted syscalls do. Its methods are called one
// call at a time, never concurrently, while the calling thread waits for
// the verdict. Which goroutine calls them depends on the engine serving
// the call's process: the ptrace engine calls them on the tracer's locked
// OS thread, which serves every traced thread's stops; the notification
// engine (under EngineHybrid, the default, an intercepted program's calls
// but chdir and the calls that change the file system; a debugger's
// program, see Debugger) on the goroutine that serves that program's
// listener. Either way they must return quickly: to decide
// later, return Hold() and call Call.Resume from another goroutine. A
// verdict's AtExit work runs one at a time with them too, on the tracer's
// thread (ptrace) or on the goroutine answering the call (notification:
// the listener's, or one of its own for a call that may block or was
// held).
type Handler interface {
	Socket(*Call) Verdict
	Path(*Call) Verdict
}

// Call is one intercepted syscall, waiting before it runs: its thread is
// stopped by ptrace or waits on a seccomp notification. Its fields are the
// arguments, decoded; handlers never read argument registers.
type Call struct {
	PID     int   // the process (thread group) id
	TID     int   // the calling thread
	Syscall Sysno // which syscall: SysConnect, SysOpenat, ...
	Class   Class

	// Socket calls.
	FD         int            // the socket
	Addr       netip.AddrPort // the destination (connect, bind, sendto, sendmsg); valid when HasAddr
	HasAddr    bool
	SockFamily uint16 // AF_INET or AF_INET6 of Addr

	// Path calls.
	// Path is absolute and cleaned, resolved against the cwd or dirfd; for a
	// call about an fd (fstat, fstatfs, a stat with AT_EMPTY_PATH and no
	// path), the file the fd names.
	Path     string
	RawPath  string // as the program passed it
	OpenFlag int    // open flags (open, openat, openat2), else 0
	// Mutates: the call changes the file system (mkdir, unlink, rename,
	// chmod, ...); Path2 is the second path it changes (rename, link).
	Mutates bool
	Path2   string
	// Change is what the call asks to change, and the mode an open
	// creates a file with.
	Change Change

	nr         uint64        // Syscall's number on this architecture
	args       [6]uint64     // the argument registers, as the program passed them
	how        *unix.OpenHow // openat2's struct open_how, read at entry (nil: unreadable)
	stop       callStop      // the engine the call waits in, and where
	outAddr    taddr         // where getpeername/recvfrom/recvmsg write the address
	outAddrCap int           // the size of that buffer at entry
}

// Change is what a call that changes the file system asks for, decoded
// from its arguments: each field is set for the calls that take it, and
// zero for the others.
type Change struct {
	// Mode is the mode a file is made with (open, openat and openat2 that
	// create, mkdir, mknod) or given (chmod).
	Mode     uint32
	UID, GID int    // chown, lchown, fchownat: the new owner and group; -1 keeps one
	Dev      uint64 // mknod, mknodat: the device
	Size     int64  // truncate: the new length
	// Times are what utimensat, utimes, futimesat and utime set the access
	// and modification times to, as utimensat takes them (a NULL pointer:
	// UTIME_NOW for both).
	Times       [2]unix.Timespec
	RemoveDir   bool // unlinkat with AT_REMOVEDIR: a directory is removed
	RenameFlags int  // renameat2: RENAME_NOREPLACE, RENAME_EXCHANGE, ...
	// NoFollow: the call changes a final symlink itself, not what it points
	// at (lchown, lsetxattr, lremovexattr; AT_SYMLINK_NOFOLLOW).
	NoFollow   bool
	LinkTarget string // symlink, symlinkat: the text the link holds
	Xattr      string // setxattr, removexattr and their l forms: the attribute's name
	XattrValue []byte // setxattr, lsetxattr: its value
	XattrFlags int    // setxattr, lsetxattr: XATTR_CREATE, XATTR_REPLACE
	// Unread: what the call points at in the program's memory (its times,
	// link target, attribute name or value) could not be read, or is larger
	// than the kernel takes; the fields it fills are zero.
	Unread bool
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

// sys is what the call's arguments are.
func (c *Call) sys() *sysInfo { return &syscalls[c.Syscall] }

// arg is the call's argument of role r, 0 when it takes none.
func (c *Call) arg(r argRole) uint64 {
	if i := c.sys().pos(r); i >= 0 {
		return c.args[i]
	}
	return 0
}

// readString reads the NUL-terminated string the argument of role r
// points at (an attribute's name, say).
func (c *Call) readString(r argRole) (string, error) {
	return readCString(c.TID, taddr(c.arg(r)), make([]byte, pageSize))
}
