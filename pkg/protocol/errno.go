package protocol

import (
	"sync"

	"golang.org/x/sys/unix"
)

var errnoByName = sync.OnceValue(func() map[string]unix.Errno {
	m := map[string]unix.Errno{}
	for e := unix.Errno(1); e < 4096; e++ {
		if name := unix.ErrnoName(e); name != "" {
			m[name] = e
		}
	}
	return m
})

// Errno maps an errno name from a Response ("ECONNREFUSED") to its value on
// this machine; 0 for an empty or unknown name. Names, not numbers, travel:
// they mean the same on every architecture.
func Errno(name string) unix.Errno { return errnoByName()[name] }
