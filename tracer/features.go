package tracer

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// kernelVersion is this kernel's major and minor version.
var kernelVersion = sync.OnceValues(func() (int, int) {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return 0, 0
	}
	release := unix.ByteSliceToString(u.Release[:])
	major, rest, _ := strings.Cut(release, ".")
	minor, _, _ := strings.Cut(rest, ".")
	ma, _ := strconv.Atoi(major)
	mi, _ := strconv.Atoi(strings.TrimRightFunc(minor, func(r rune) bool { return r < '0' || r > '9' }))
	return ma, mi
})

// NotifySupport says whether this kernel can run the notification engine
// a debugger's program is handed to: seccomp user notification with
// SECCOMP_IOCTL_NOTIF_ADDFD, which opens need (Linux 5.9). From 5.14 an fd
// and the call's answer arrive together (SECCOMP_ADDFD_FLAG_SEND); before,
// a program whose open is interrupted at that moment keeps an unused fd.
func NotifySupport() error { return notifySupportOn(kernelVersion()) }

func notifySupportOn(major, minor int) error {
	if major < 5 || major == 5 && minor < 9 {
		return fmt.Errorf("debugging a program needs Linux 5.9 or newer (seccomp user notification with ADDFD); this kernel is %d.%d", major, minor)
	}
	return nil
}

// addfdSendOK: SECCOMP_ADDFD_FLAG_SEND (Linux 5.14).
func addfdSendOK() bool {
	ma, mi := kernelVersion()
	return ma > 5 || ma == 5 && mi >= 14
}

// waitKillableOK: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19).
func waitKillableOK() bool {
	ma, mi := kernelVersion()
	return ma > 5 || ma == 5 && mi >= 19
}
