package tracer

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A container runtime's default seccomp profile, or an old kernel, can
// refuse what the engines need. Each is tried once at start, harmlessly, so
// the user is told in one line what is missing and how to get it, instead
// of meeting a failed seize or a program that dies with ENOSYS later.

// feature is one thing the tracer needs: try attempts it without changing
// anything.
type feature struct {
	what     string // what it is
	minLinux string // the kernel that has it
	try      func() error
}

// ErrMissingFeature is what CheckFeatures returns, wrapped with the details.
var ErrMissingFeature = errors.New("this system does not let kubectl mirror trace")

// containerFix is what a container runtime needs to allow the calls.
const containerFix = "in a container, start it with --cap-add SYS_PTRACE --security-opt seccomp=unconfined (docker, podman), or run on the host"

// CheckFeatures tries what the tracer needs (the ptrace engine; with
// debugger also the notification engine a debugger's program is handed
// to) and returns one error naming what is refused and the fix.
func CheckFeatures(debugger bool) error {
	return checkFeatures(features(debugger), kernelVersion)
}

func features(debugger bool) []feature {
	fs := []feature{
		{"ptrace", "3.4", tryPtrace},
		{"seccomp filters that stop for the tracer (SECCOMP_RET_TRACE)", "3.5", func() error { return tryAction(unix.SECCOMP_RET_TRACE) }},
		{"reading a traced process's memory (process_vm_readv)", "3.2", tryProcessVMReadv},
	}
	if debugger {
		fs = append(fs, notifyFeatures()...)
	}
	return fs
}

// notifyFeatures is what the notification engine needs besides the
// kernel's version: a debuggee handed over, or the hybrid engine.
func notifyFeatures() []feature {
	return []feature{
		{"seccomp user notification", "5.9", func() error { return tryAction(unix.SECCOMP_RET_USER_NOTIF) }},
		{"taking another process's file descriptor (pidfd_getfd)", "5.6", tryPidfdGetfd},
	}
}

func checkFeatures(fs []feature, kernel func() (int, int)) error {
	for _, f := range fs {
		err := f.try()
		if err == nil {
			continue
		}
		ma, mi := kernel()
		why := "refused"
		var errno unix.Errno
		if errors.As(err, &errno) {
			why = fmt.Sprintf("refused (%s)", unix.ErrnoName(errno))
		}
		return fmt.Errorf("%w: %s is %s; it needs Linux %s or newer (this kernel is %d.%d) and, %s",
			ErrMissingFeature, f.what, why, f.minLinux, ma, mi, containerFix)
	}
	return nil
}

// tryPtrace asks for a process that cannot exist: a kernel that allows
// ptrace says ESRCH; a profile that forbids it says EPERM (or ENOSYS).
func tryPtrace() error {
	const noSuchPID = 0x3fffffff // above pid_max's limit
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKUSR, noSuchPID, 0, 0, 0, 0)
	if e == unix.ESRCH {
		return nil
	}
	return e
}

// tryAction asks whether the kernel knows a seccomp filter action
// (SECCOMP_GET_ACTION_AVAIL): nothing is installed.
func tryAction(action uint32) error {
	a := action
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_ACTION_AVAIL, 0, uintptr(unsafe.Pointer(&a)))
	if e != 0 {
		return e
	}
	return nil
}

// tryProcessVMReadv reads a byte of this process's own memory.
func tryProcessVMReadv() error {
	var src, dst [1]byte
	local := []unix.Iovec{{Base: &dst[0], Len: 1}}
	remote := []unix.RemoteIovec{{Base: uintptr(unsafe.Pointer(&src[0])), Len: 1}}
	_, err := unix.ProcessVMReadv(unix.Getpid(), local, remote, 0)
	return err
}

// tryPidfdGetfd takes a copy of this process's own stdin-or-any fd 0.
func tryPidfdGetfd() error {
	pidfd, err := unix.PidfdOpen(unix.Getpid(), 0)
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, pidfd, 0)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}
