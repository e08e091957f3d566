package tracer

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Exit is a syscall that has just returned.
type Exit struct {
	Call   *Call
	Result int64 // the return value, -errno on failure
}

// SetResult changes what the syscall returns (-errno to fail it).
func (e *Exit) SetResult(v int64) { e.Result = v }

// SetSockoptInt replaces the int a successful getsockopt wrote (SO_ERROR).
func (e *Exit) SetSockoptInt(v int32) bool {
	if e.Call.Syscall != SysGetsockopt || e.Result != 0 {
		return false
	}
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(v))
	return writeMem(e.Call.TID, taddr(e.Call.arg(argOptVal)), b[:]) == nil
}

// SockoptInt reads the int a successful getsockopt wrote.
func (e *Exit) SockoptInt() (int32, bool) {
	var b [4]byte
	if e.Call.Syscall != SysGetsockopt || e.Result != 0 || readMem(e.Call.TID, taddr(e.Call.arg(argOptVal)), b[:]) != nil {
		return 0, false
	}
	return int32(binary.LittleEndian.Uint32(b[:])), true
}

// ResultAddr reads the address a getpeername, recvfrom or recvmsg returned.
func (e *Exit) ResultAddr() (netip.AddrPort, bool) {
	ptr, size := e.Call.outAddr, e.Call.outAddrCap
	if ptr == 0 || size < 2 || e.Result < 0 {
		return netip.AddrPort{}, false
	}
	b := make([]byte, min(size, sizeofSockaddrInet6))
	if readMem(e.Call.TID, taddr(ptr), b) != nil {
		return netip.AddrPort{}, false
	}
	ap, _, ok := decodeSockaddr(b)
	return ap, ok
}

// SetResultAddr replaces the address a getpeername, recvfrom or recvmsg
// returned, in the socket's own family, truncated to the program's buffer as
// the kernel would.
func (e *Exit) SetResultAddr(ap netip.AddrPort) bool {
	ptr, size := e.Call.outAddr, e.Call.outAddrCap
	if ptr == 0 || size < 2 || e.Result < 0 {
		return false
	}
	var fam [2]byte
	if readMem(e.Call.TID, taddr(ptr), fam[:]) != nil {
		return false
	}
	b := encodeSockaddr(uint16(fam[0])|uint16(fam[1])<<8, ap)
	return writeMem(e.Call.TID, taddr(ptr), b[:min(len(b), size)]) == nil
}

// SetStatfs replaces what a successful statfs or fstatfs wrote to the
// program's struct statfs with st.
func (e *Exit) SetStatfs(st unix.Statfs_t) bool {
	if e.Result != 0 || (e.Call.Syscall != SysStatfs && e.Call.Syscall != SysFstatfs) {
		return false
	}
	return writeMem(e.Call.TID, taddr(e.Call.arg(argStructOut)), structBytes(&st)) == nil
}
