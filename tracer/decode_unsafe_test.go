package tracer

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestDecodeCallArguments decodes calls whose arguments point into this
// process's own memory (readable as a program's is), as the engines do.
func TestDecodeCallArguments(t *testing.T) {
	var keep [][]byte
	mem := func(b []byte) uint64 {
		keep = append(keep, b)
		return uint64(uintptr(unsafe.Pointer(&b[0])))
	}
	str := func(s string) uint64 { return mem(append([]byte(s), 0)) }
	words := func(v ...uint64) uint64 {
		b := make([]byte, 8*len(v))
		for i, w := range v {
			binary.LittleEndian.PutUint64(b[8*i:], w)
		}
		return mem(b)
	}
	atFDCWD := int32(unix.AT_FDCWD)
	cwd := uint64(uint32(atFDCWD))
	now := [2]unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}
	for _, tc := range []struct {
		sys      Sysno
		args     [6]uint64
		openFlag int
		want     Change
	}{
		{SysMkdirat, [6]uint64{cwd, str("/d"), 0o750}, 0, Change{Mode: 0o750}},
		{SysMkdir, [6]uint64{str("/d"), 0o700}, 0, Change{Mode: 0o700}},
		{SysUnlinkat, [6]uint64{cwd, str("/d"), unix.AT_REMOVEDIR}, 0, Change{RemoveDir: true}},
		{SysUnlinkat, [6]uint64{cwd, str("/f"), 0}, 0, Change{}},
		{SysRenameat2, [6]uint64{cwd, str("/a"), cwd, str("/b"), unix.RENAME_NOREPLACE}, 0, Change{RenameFlags: unix.RENAME_NOREPLACE}},
		{SysFchmodat, [6]uint64{cwd, str("/f"), 0o600}, 0, Change{Mode: 0o600}},
		{SysTruncate, [6]uint64{str("/f"), 42}, 0, Change{Size: 42}},
		{SysFchownat, [6]uint64{cwd, str("/f"), 1000, 1001, unix.AT_SYMLINK_NOFOLLOW}, 0, Change{UID: 1000, GID: 1001, NoFollow: true}},
		{SysChown, [6]uint64{str("/f"), 0xffffffff, 5}, 0, Change{UID: -1, GID: 5}},
		{SysLchown, [6]uint64{str("/f"), 1, 2}, 0, Change{UID: 1, GID: 2, NoFollow: true}},
		{SysMknodat, [6]uint64{cwd, str("/p"), unix.S_IFIFO | 0o600, 7}, 0, Change{Mode: unix.S_IFIFO | 0o600, Dev: 7}},
		{SysUtimensat, [6]uint64{cwd, str("/f"), 0, 0}, 0, Change{Times: now}},
		{SysUtimensat, [6]uint64{cwd, str("/f"), words(1, 2, 3, unix.UTIME_OMIT), unix.AT_SYMLINK_NOFOLLOW}, 0,
			Change{Times: [2]unix.Timespec{{Sec: 1, Nsec: 2}, {Sec: 3, Nsec: unix.UTIME_OMIT}}, NoFollow: true}},
		{SysUtimes, [6]uint64{str("/f"), words(1, 2, 3, 4)}, 0, Change{Times: [2]unix.Timespec{{Sec: 1, Nsec: 2000}, {Sec: 3, Nsec: 4000}}}},
		{SysFutimesat, [6]uint64{cwd, str("/f"), 0}, 0, Change{Times: now}},
		{SysUtime, [6]uint64{str("/f"), words(5, 6)}, 0, Change{Times: [2]unix.Timespec{{Sec: 5}, {Sec: 6}}}},
		{SysSymlinkat, [6]uint64{str("../t"), cwd, str("/l")}, 0, Change{LinkTarget: "../t"}},
		{SysSymlinkat, [6]uint64{1, cwd, str("/l")}, 0, Change{Unread: true}},
		{SysLsetxattr, [6]uint64{str("/f"), str("user.a"), str("v"), 1, unix.XATTR_CREATE}, 0,
			Change{Xattr: "user.a", XattrValue: []byte("v"), XattrFlags: unix.XATTR_CREATE, NoFollow: true}},
		{SysSetxattr, [6]uint64{str("/f"), str("user.a"), str("v"), 1 << 20, 0}, 0, Change{Xattr: "user.a", Unread: true}},
		{SysRemovexattr, [6]uint64{str("/f"), str("user.a")}, 0, Change{Xattr: "user.a"}},
		{SysOpenat, [6]uint64{cwd, str("/f"), unix.O_CREAT | unix.O_WRONLY, 0o640}, unix.O_CREAT | unix.O_WRONLY, Change{Mode: 0o640}},
		{SysOpenat2, [6]uint64{cwd, str("/f"), words(unix.O_CREAT|unix.O_RDWR, 0o600, unix.RESOLVE_BENEATH), 24}, unix.O_CREAT | unix.O_RDWR, Change{Mode: 0o600}},
		{SysOpenat2, [6]uint64{cwd, str("/f"), 1, 24}, 0, Change{}},
	} {
		nr := syscalls[tc.sys].nr
		if nr < 0 {
			continue // not on this architecture
		}
		c, ok := decodeCall(os.Getpid(), os.Getpid(), uint64(nr), tc.args, make([]byte, pageSize))
		if !ok {
			t.Errorf("%s%v: not decoded", tc.sys, tc.args)
			continue
		}
		if diff := cmp.Diff(tc.want, c.Change); diff != "" || c.OpenFlag != tc.openFlag || c.Path == "" {
			t.Errorf("%s: path %q, open flags %#x; change (-want +got):\n%s", tc.sys, c.Path, c.OpenFlag, diff)
		}
	}
	runtime.KeepAlive(keep)
}

// TestSysnoNames: every intercepted syscall has its kernel name, as trace
// prints it, and its number on this architecture names it back.
func TestSysnoNames(t *testing.T) {
	for s := Sysno(1); s < numSysnos; s++ {
		if s.String() == "" || syscalls[s].class == 0 {
			t.Errorf("sysno %d has no entry", s)
		}
		if nr := syscalls[s].nr; nr >= 0 && sysnoOf[uint64(nr)] != s {
			t.Errorf("%s: number %d names %s", s, nr, sysnoOf[uint64(nr)])
		}
	}
	if SysOpenat.String() != "openat" || SysInotifyAddWatch.String() != "inotify_add_watch" || SysNewfstatat.String() != "newfstatat" {
		t.Error("names differ from the kernel's")
	}
}
