package tracer

// utsname: six fields of 65 bytes (sysname, nodename, release, version,
// machine, domainname); the node name is the second.
const (
	utsFieldLen    = 65
	utsNodenameOff = utsFieldLen
)

// identity answers uname: the kernel fills the struct, then the node name is
// replaced with Config.Hostname, so hostname(1), gethostname() and the name
// lookups built on them give the pod's name.
func (t *Tracer) identity(c *Call) Verdict {
	name := t.cfg.Hostname
	if name == "" || len(name) >= utsFieldLen {
		return Allow()
	}
	return Allow().AtExit(func(e *Exit) {
		if e.Result != 0 {
			return
		}
		field := make([]byte, utsFieldLen) // NUL-padded, as the kernel writes it
		copy(field, name)
		_ = writeMem(e.Call.TID, e.Call.Args[0]+utsNodenameOff, field)
	})
}
