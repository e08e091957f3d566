package tracer

import (
	"slices"

	"golang.org/x/sys/unix"
)

// Class groups the intercepted syscalls by what a handler decides about them.
type Class int

const (
	// ClassSocket: connect, bind, listen, sendto/sendmsg with an address,
	// recvfrom/recvmsg, getpeername, getsockname, accept, close, shutdown.
	ClassSocket Class = iota + 1
	// ClassPath: open, openat, openat2, the stat family, access family,
	// readlink, and the calls that change the file system.
	ClassPath
	// ClassIdentity: uname, sethostname, setdomainname. The tracer answers
	// them itself from Config.Hostname; handlers never see them.
	ClassIdentity
)

// argRole is what one argument of a syscall is. A syscall's entry in
// syscalls lists the role of each of its arguments in order, as its
// prototype in the kernel does; every reading of an argument (decode.go,
// the notification engine's emulation, the ptrace engine's rewrites, the
// filter's argument checks) finds it by its role there.
type argRole uint8

const (
	argNone argRole = iota // an argument nothing here reads

	// Socket calls.
	argFD         // int: the socket; the file (fstatfs, inotify_add_watch)
	argAddr       // const struct sockaddr *: where the call connects, binds or sends
	argAddrLen    // socklen_t: argAddr's length
	argAddrOut    // struct sockaddr *: where the kernel writes an address
	argAddrLenOut // socklen_t *: argAddrOut's size in, the address's length out
	argMsg        // const struct msghdr *: sendmsg's; msg_name is the destination
	argMsgOut     // struct msghdr *: recvmsg's; msg_name is where the source goes
	argBuf        // void *: the bytes sent or received, a link's text read, an xattr's value
	argLen        // size_t: argBuf's size
	argMsgFlags   // int: MSG_* flags
	argBacklog    // int: listen's backlog
	argLevel      // int: getsockopt's level
	argOptName    // int: getsockopt's option
	argOptVal     // void *: where the option's value goes
	argOptLenOut  // socklen_t *: argOptVal's size in, the value's length out
	argSockFlags  // int: accept4's SOCK_* flags
	argShutHow    // int: shutdown's SHUT_RD, SHUT_WR or SHUT_RDWR

	// Path calls.
	argDirfd       // int: the directory argPath is relative to (AT_FDCWD: the cwd)
	argPath        // const char *: the path the call is about
	argDirfd2      // int: the directory argPath2 is relative to
	argPath2       // const char *: the second path a call changes (rename, link)
	argOpenFlags   // int: O_* flags
	argMode        // mode_t: the mode a file is made with (open, mkdir, mknod) or given (chmod)
	argHow         // struct open_how *: openat2's flags, mode and resolve flags
	argHowSize     // size_t: argHow's size
	argAtFlags     // int: AT_* flags
	argStructOut   // struct stat, statx, statfs or utsname *: where the result goes
	argStatxMask   // unsigned int: statx's STATX_* mask
	argAccessMode  // int: F_OK, or R_OK, W_OK and X_OK
	argUID         // uid_t: the new owner (-1: unchanged)
	argGID         // gid_t: the new group (-1: unchanged)
	argDev         // dev_t: mknod's device
	argLength      // off_t: truncate's length
	argTimespecs   // const struct timespec[2] *: utimensat's times
	argTimevals    // const struct timeval[2] *: utimes' and futimesat's times
	argUtimbuf     // const struct utimbuf *: utime's times
	argUnlinkFlags // int: unlinkat's flags (AT_REMOVEDIR)
	argRenameFlags // unsigned int: renameat2's RENAME_* flags
	argLinkTarget  // const char *: the text a symlink holds
	argXattrName   // const char *: an extended attribute's name
	argXattrFlags  // int: setxattr's XATTR_CREATE or XATTR_REPLACE
	argInotifyMask // uint32_t: inotify_add_watch's IN_* mask

	numArgRoles
)

// sysInfo is one intercepted syscall: its number on this architecture,
// its class and what its arguments are.
type sysInfo struct {
	name  string
	nr    int // -1: this architecture has no such call
	class Class
	// at is where each role's argument is, plus one: 0 where the call has
	// none (so the zero sysInfo takes no arguments).
	at [numArgRoles]uint8
	// mutates: the call changes the file system at its path (or paths).
	mutates bool
	// noFollow: the call acts on a final symlink itself (lstat, lchown,
	// the l*xattr calls), as AT_SYMLINK_NOFOLLOW asks of the *at calls.
	noFollow bool
	// stopIf, when set, is the check the filter makes before it stops the
	// call (tracedIf): the call runs unasked when it fails.
	stopIf *argCheck
	// watchedOnly: no filter stops the call but a close watch
	// (ptrace_closewatch.go), for the fd it names.
	watchedOnly bool
}

// call describes a syscall by the roles of its arguments, in order.
func call(name string, nr int, class Class, roles ...argRole) sysInfo {
	i := sysInfo{name: name, nr: nr, class: class}
	for pos, r := range roles {
		if r != argNone {
			i.at[r] = uint8(pos + 1)
		}
	}
	return i
}

func socketCall(name string, nr int, roles ...argRole) sysInfo {
	return call(name, nr, ClassSocket, roles...)
}

func pathCall(name string, nr int, roles ...argRole) sysInfo {
	return call(name, nr, ClassPath, roles...)
}

// changeCall describes a call that changes the file system.
func changeCall(name string, nr int, roles ...argRole) sysInfo {
	i := call(name, nr, ClassPath, roles...)
	i.mutates = true
	return i
}

// watched marks a call only close watches stop.
func (i sysInfo) watched() sysInfo {
	i.watchedOnly = true
	return i
}

// nofollow marks the l* form of a call.
func (i sysInfo) nofollow() sysInfo {
	i.noFollow = true
	return i
}

// stopIfSet: the filter stops the call only when the role's argument is
// not NULL (see argCheck).
func (i sysInfo) stopIfSet(r argRole) sysInfo {
	i.stopIf = &argCheck{Arg: i.pos(r)}
	return i
}

// roleValue is an argument, by its role, and a value it may have.
type roleValue struct {
	r argRole
	v uint32
}

// stopIfEqual: only when each role's argument (its low word) has its value.
func (i sysInfo) stopIfEqual(pairs ...roleValue) sysInfo {
	c := &argCheck{}
	for _, p := range pairs {
		c.Equal = append(c.Equal, [2]uint32{uint32(i.pos(p.r)), p.v})
	}
	i.stopIf = c
	return i
}

// keptOnPtrace: under the hybrid engine the call still stops under
// ptrace. A chdir to a replaced path must change the kernel's working
// directory, which only a rewritten argument does; a call that changes the
// file system is made as the program made it (or failed, or answered by
// the Handler), with its result seen at the exit stop, not made again
// here with the tracer's credentials and umask. A connect, which the
// Handler may hold while the pod dials, waits at a ptrace stop, which holds
// a signal until it is decided: a notified call's wait is ended by a signal
// that comes before the engine has received it, and the program's socket
// is left unconnected where the kernel would have gone on connecting
// (Python, which then waits for it to be writable, took it for connected).
// So do the calls that ask a socket its addresses or its pending error,
// which a signal never interrupts natively: a notified one ended that way
// failed with EINTR (a program whose handler asks for no restart, Python's,
// saw 5-6% of them fail under a 0.5 ms timer); each is made once or twice
// a connection.
func (i *sysInfo) keptOnPtrace() bool {
	switch i.nr {
	case unix.SYS_CHDIR, unix.SYS_LISTEN, unix.SYS_CONNECT, unix.SYS_GETPEERNAME, unix.SYS_GETSOCKNAME, unix.SYS_GETSOCKOPT:
		return true
	}
	return i.mutates
}

// has reports whether the call takes an argument of role r.
func (i *sysInfo) has(r argRole) bool { return i.at[r] != 0 }

// pos is the position of the call's argument of role r, -1 if it has none.
func (i *sysInfo) pos(r argRole) int { return int(i.at[r]) - 1 }

// fdPath: the call names a file by an fd, not by a path (fstat, fstatfs);
// Call.Path is the file the fd names.
// filtered: the call is in the filter (pathFree: under the mount view).
func (i *sysInfo) filtered(pathFree bool) bool {
	return !i.watchedOnly && !(pathFree && (i.class == ClassPath || i.class == ClassIdentity))
}

func (i *sysInfo) fdPath() bool { return i.class == ClassPath && i.has(argFD) && !i.has(argPath) }

// syscalls lists every syscall the filter stops, each with its arguments
// in the order of its prototype.
var syscalls = [numSysnos]sysInfo{
	SysConnect: socketCall("connect", unix.SYS_CONNECT, argFD, argAddr, argAddrLen),
	SysBind:    socketCall("bind", unix.SYS_BIND, argFD, argAddr, argAddrLen),
	SysListen:  socketCall("listen", unix.SYS_LISTEN, argFD, argBacklog),
	SysSendto: socketCall("sendto", unix.SYS_SENDTO, argFD, argBuf, argLen, argMsgFlags, argAddr, argAddrLen).
		stopIfSet(argAddr),
	SysSendmsg: socketCall("sendmsg", unix.SYS_SENDMSG, argFD, argMsg, argMsgFlags),
	SysRecvfrom: socketCall("recvfrom", unix.SYS_RECVFROM, argFD, argBuf, argLen, argMsgFlags, argAddrOut, argAddrLenOut).
		stopIfSet(argAddrOut),
	SysRecvmsg:     socketCall("recvmsg", unix.SYS_RECVMSG, argFD, argMsgOut, argMsgFlags),
	SysGetpeername: socketCall("getpeername", unix.SYS_GETPEERNAME, argFD, argAddrOut, argAddrLenOut),
	SysGetsockname: socketCall("getsockname", unix.SYS_GETSOCKNAME, argFD, argAddrOut, argAddrLenOut),
	// getsockopt(SOL_SOCKET, SO_ERROR) only: how a program learns how a
	// non-blocking connect ended.
	SysGetsockopt: socketCall("getsockopt", unix.SYS_GETSOCKOPT, argFD, argLevel, argOptName, argOptVal, argOptLenOut).
		stopIfEqual(roleValue{argLevel, unix.SOL_SOCKET}, roleValue{argOptName, unix.SO_ERROR}),
	// accept: the peer of a connection handed over from the pod is shown as
	// the pod's client.
	SysAccept:  socketCall("accept", sysAccept, argFD, argAddrOut, argAddrLenOut),
	SysAccept4: socketCall("accept4", unix.SYS_ACCEPT4, argFD, argAddrOut, argAddrLenOut, argSockFlags),

	SysOpen:    pathCall("open", sysOpen, argPath, argOpenFlags, argMode),
	SysOpenat:  pathCall("openat", unix.SYS_OPENAT, argDirfd, argPath, argOpenFlags, argMode),
	SysOpenat2: pathCall("openat2", unix.SYS_OPENAT2, argDirfd, argPath, argHow, argHowSize),
	SysStat:    pathCall("stat", sysStat, argPath, argStructOut),
	SysLstat:   pathCall("lstat", sysLstat, argPath, argStructOut).nofollow(),
	// The stat family stops for an fd too (fstat; newfstatat and statx with
	// AT_EMPTY_PATH): a file opened from the pod's copy shows the pod's
	// metadata (Exit.SetStat).
	SysNewfstatat:      pathCall("newfstatat", unix.SYS_NEWFSTATAT, argDirfd, argPath, argStructOut, argAtFlags),
	SysStatx:           pathCall("statx", unix.SYS_STATX, argDirfd, argPath, argAtFlags, argStatxMask, argStructOut),
	SysFstat:           pathCall("fstat", unix.SYS_FSTAT, argFD, argStructOut),
	SysAccess:          pathCall("access", sysAccess, argPath, argAccessMode),
	SysFaccessat:       pathCall("faccessat", unix.SYS_FACCESSAT, argDirfd, argPath, argAccessMode),
	SysFaccessat2:      pathCall("faccessat2", unix.SYS_FACCESSAT2, argDirfd, argPath, argAccessMode, argAtFlags),
	SysReadlink:        pathCall("readlink", sysReadlink, argPath, argBuf, argLen),
	SysReadlinkat:      pathCall("readlinkat", unix.SYS_READLINKAT, argDirfd, argPath, argBuf, argLen),
	SysGetxattr:        pathCall("getxattr", unix.SYS_GETXATTR, argPath, argXattrName, argBuf, argLen),
	SysLgetxattr:       pathCall("lgetxattr", unix.SYS_LGETXATTR, argPath, argXattrName, argBuf, argLen).nofollow(),
	SysChdir:           pathCall("chdir", unix.SYS_CHDIR, argPath),
	SysStatfs:          pathCall("statfs", unix.SYS_STATFS, argPath, argStructOut),
	SysFstatfs:         pathCall("fstatfs", unix.SYS_FSTATFS, argFD, argStructOut),
	SysInotifyAddWatch: pathCall("inotify_add_watch", unix.SYS_INOTIFY_ADD_WATCH, argFD, argPath, argInotifyMask),

	// Calls that change the file system: decided too, so that nothing a
	// remote path names is changed here (see Call.Mutates).
	SysMkdir:     changeCall("mkdir", sysMkdir, argPath, argMode),
	SysMkdirat:   changeCall("mkdirat", unix.SYS_MKDIRAT, argDirfd, argPath, argMode),
	SysUnlink:    changeCall("unlink", sysUnlink, argPath),
	SysUnlinkat:  changeCall("unlinkat", unix.SYS_UNLINKAT, argDirfd, argPath, argUnlinkFlags),
	SysRmdir:     changeCall("rmdir", sysRmdir, argPath),
	SysRename:    changeCall("rename", sysRename, argPath, argPath2),
	SysRenameat:  changeCall("renameat", unix.SYS_RENAMEAT, argDirfd, argPath, argDirfd2, argPath2),
	SysRenameat2: changeCall("renameat2", unix.SYS_RENAMEAT2, argDirfd, argPath, argDirfd2, argPath2, argRenameFlags),
	SysLink:      changeCall("link", sysLink, argPath, argPath2),
	SysLinkat:    changeCall("linkat", unix.SYS_LINKAT, argDirfd, argPath, argDirfd2, argPath2, argAtFlags),
	// The link made is the path; its target is only text.
	SysSymlink:      changeCall("symlink", sysSymlink, argLinkTarget, argPath),
	SysSymlinkat:    changeCall("symlinkat", unix.SYS_SYMLINKAT, argLinkTarget, argDirfd, argPath),
	SysChmod:        changeCall("chmod", sysChmod, argPath, argMode),
	SysFchmodat:     changeCall("fchmodat", unix.SYS_FCHMODAT, argDirfd, argPath, argMode),
	SysFchmodat2:    changeCall("fchmodat2", unix.SYS_FCHMODAT2, argDirfd, argPath, argMode, argAtFlags),
	SysChown:        changeCall("chown", sysChown, argPath, argUID, argGID),
	SysLchown:       changeCall("lchown", sysLchown, argPath, argUID, argGID).nofollow(),
	SysFchownat:     changeCall("fchownat", unix.SYS_FCHOWNAT, argDirfd, argPath, argUID, argGID, argAtFlags),
	SysUtime:        changeCall("utime", sysUtime, argPath, argUtimbuf),
	SysUtimes:       changeCall("utimes", sysUtimes, argPath, argTimevals),
	SysFutimesat:    changeCall("futimesat", sysFutimesat, argDirfd, argPath, argTimevals),
	SysUtimensat:    changeCall("utimensat", unix.SYS_UTIMENSAT, argDirfd, argPath, argTimespecs, argAtFlags),
	SysTruncate:     changeCall("truncate", unix.SYS_TRUNCATE, argPath, argLength),
	SysMknod:        changeCall("mknod", sysMknod, argPath, argMode, argDev),
	SysMknodat:      changeCall("mknodat", unix.SYS_MKNODAT, argDirfd, argPath, argMode, argDev),
	SysSetxattr:     changeCall("setxattr", unix.SYS_SETXATTR, argPath, argXattrName, argBuf, argLen, argXattrFlags),
	SysLsetxattr:    changeCall("lsetxattr", unix.SYS_LSETXATTR, argPath, argXattrName, argBuf, argLen, argXattrFlags).nofollow(),
	SysRemovexattr:  changeCall("removexattr", unix.SYS_REMOVEXATTR, argPath, argXattrName),
	SysLremovexattr: changeCall("lremovexattr", unix.SYS_LREMOVEXATTR, argPath, argXattrName).nofollow(),

	SysUname: call("uname", unix.SYS_UNAME, ClassIdentity, argStructOut),
	// The pod's names are not this machine's to change (identity.go).
	SysSethostname:   call("sethostname", unix.SYS_SETHOSTNAME, ClassIdentity, argNone, argNone),
	SysSetdomainname: call("setdomainname", unix.SYS_SETDOMAINNAME, ClassIdentity, argNone, argNone),

	// close and shutdown: a program letting go of its last listening
	// socket on a port gives the port back before the call returns. The
	// handler answers any other fd at once (see Call.ShutdownHow).
	SysClose:    socketCall("close", unix.SYS_CLOSE, argFD).watched(),
	SysShutdown: socketCall("shutdown", unix.SYS_SHUTDOWN, argFD, argShutHow).watched(),
}

// sysnoOf is the Sysno of each syscall number this architecture has.
var sysnoOf = func() map[uint64]Sysno {
	m := make(map[uint64]Sysno, len(syscalls))
	for s := Sysno(1); s < numSysnos; s++ {
		if nr := syscalls[s].nr; nr >= 0 {
			m[uint64(nr)] = s
		}
	}
	return m
}()

// filterLists splits the table into the filter's two lists: the calls that
// always stop, and those that stop when their argument check holds. Under
// the mount view (pathFree) path and identity calls are left out: the
// program's namespaces answer them.
func filterLists(pathFree bool) (always []uint32, tracedIf map[uint32]argCheck) {
	tracedIf = map[uint32]argCheck{}
	for nr, s := range sysnoOf {
		if !syscalls[s].filtered(pathFree) {
			continue
		}
		if c := syscalls[s].stopIf; c != nil {
			tracedIf[uint32(nr)] = *c
		} else {
			always = append(always, uint32(nr))
		}
	}
	slices.Sort(always)
	return always, tracedIf
}
