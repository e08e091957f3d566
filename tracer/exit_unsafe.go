package tracer

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// SetStatfs replaces what a successful statfs or fstatfs wrote to the
// program's struct statfs (its second argument) with st.
func (e *Exit) SetStatfs(st unix.Statfs_t) bool {
	if e.Result != 0 || (e.Call.Name != "statfs" && e.Call.Name != "fstatfs") {
		return false
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&st)), unsafe.Sizeof(st))
	return writeMem(e.Call.TID, taddr(e.Call.Args[1]), b) == nil
}
