package tracer

import "golang.org/x/sys/unix"

// utsname: six fields of 65 bytes (sysname, nodename, release, version,
// machine, domainname); the node name is the second.
const (
	utsFieldLen      = 65
	utsNodenameOff   = utsFieldLen
	utsDomainnameOff = 5 * utsFieldLen
)

// identity answers uname: the kernel fills the struct, then the node name is
// replaced with Config.Hostname, so hostname(1), gethostname() and the name
// lookups built on them give the pod's name.
func (d *decider) identity(c *Call) Verdict {
	if d.hostname == "" && d.domain == "" {
		return Allow()
	}
	if c.Syscall == SysSethostname || c.Syscall == SysSetdomainname {
		// A root program renaming "its" host would rename this machine;
		// a container without CAP_SYS_ADMIN gets EPERM too.
		return Fail(unix.EPERM)
	}
	return Allow().AtExit(func(e *Exit) {
		if e.Result != 0 {
			return
		}
		for _, f := range []struct {
			value string
			off   uint64
		}{{d.hostname, utsNodenameOff}, {d.domain, utsDomainnameOff}} {
			if f.value == "" || len(f.value) >= utsFieldLen {
				continue
			}
			field := make([]byte, utsFieldLen) // NUL-padded, as the kernel writes it
			copy(field, f.value)
			_ = writeMem(e.Call.TID, taddr(e.Call.arg(argStructOut)+f.off), field)
		}
	})
}
