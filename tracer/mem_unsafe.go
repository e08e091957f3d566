package tracer

import "unsafe"

// structBytes is v's memory as the kernel lays it out, to be written into
// a program's (a struct stat, statfs or utsname it asked for).
func structBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}
