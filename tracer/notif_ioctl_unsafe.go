package tracer

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's structs for seccomp user notification
// (include/uapi/linux/seccomp.h).
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type seccompNotifAddfd struct {
	ID         uint64
	Flags      uint32
	Srcfd      uint32
	Newfd      uint32
	NewfdFlags uint32
}

func (l *listener) ioctl(req uint, arg unsafe.Pointer) (uintptr, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(l.fd), uintptr(req), uintptr(arg))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return r, nil
	}
}

// receive reads the next notification; n must be zeroed.
func (l *listener) receive(n *seccompNotif) error {
	_, err := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(n))
	return err
}

func (l *listener) send(r *seccompNotifResp) error {
	_, err := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(r))
	return err
}

// valid reports whether call id still waits for its answer.
func (l *listener) valid(id uint64) bool {
	_, err := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id))
	return err == nil
}

// addFD installs our fd in the calling process and returns its number
// there; with send, that number is also the call's answer.
func (l *listener) addFD(id uint64, fd int, cloexec, send bool) (int, error) {
	a := seccompNotifAddfd{ID: id, Srcfd: uint32(fd)}
	if cloexec {
		a.NewfdFlags = unix.O_CLOEXEC
	}
	if !send {
		n, err := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&a))
		return int(n), err
	}
	a.Flags = unix.SECCOMP_ADDFD_FLAG_SEND
	// A signal to this thread (the Go runtime's SIGURG) while the kernel
	// waits for the program to take the fd marks the call answered with
	// nothing installed: the ioctl's restart fails with EINPROGRESS and the
	// program's open returns 0. Blocked, it waits; the program's death
	// still ends the wait (ESRCH).
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var all, old unix.Sigset_t
	for i := range all.Val {
		all.Val[i] = ^uint64(0)
	}
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &all, &old); err != nil {
		return 0, err
	}
	defer unix.PthreadSigmask(unix.SIG_SETMASK, &old, nil)
	n, err := l.ioctl(unix.SECCOMP_IOCTL_NOTIF_ADDFD, unsafe.Pointer(&a))
	return int(n), err
}

// syncWakeUp asks the kernel to switch between the calling thread and the
// one serving it on one CPU (Linux 6.6): a notification's round trip is
// two context switches instead of two wake-ups across CPUs. Older kernels
// refuse it, and serve as before.
func (l *listener) syncWakeUp() {
	_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(l.fd), uintptr(unix.SECCOMP_IOCTL_NOTIF_SET_FLAGS), unix.SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
}
