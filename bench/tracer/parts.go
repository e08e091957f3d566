package main

import (
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// stopParts times, on a stopped tracee, the ptrace work one intercepted
// stop does besides waiting: reading the registers and reading a path from
// the tracee's memory. What a stop costs beyond them is the kernel's stop
// and wake-up on both sides (two context switches, wait4 and PTRACE_CONT).
func stopParts(sysbench string) (getregs, readPath float64, err error) {
	runtime.LockOSThread() // ptrace requests must come from the seizing thread
	defer runtime.UnlockOSThread()
	cmd := exec.Command(sysbench, "getpid", "2000000000")
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	pid := cmd.Process.Pid
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	if err := unix.PtraceSeize(pid); err != nil {
		return 0, 0, err
	}
	if err := unix.PtraceInterrupt(pid); err != nil {
		return 0, 0, err
	}
	var ws unix.WaitStatus
	if _, err := unix.Wait4(pid, &ws, unix.WALL, nil); err != nil {
		return 0, 0, err
	}
	const n = 200000
	var r unix.PtraceRegs
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := unix.PtraceGetRegs(pid, &r); err != nil {
			return 0, 0, err
		}
	}
	getregs = float64(time.Since(start).Nanoseconds()) / n
	// A path read: one process_vm_readv of up to a page, from the stack.
	buf := make([]byte, 4096)
	local := []unix.Iovec{{Base: &buf[0]}}
	local[0].SetLen(len(buf))
	remote := []unix.RemoteIovec{{Base: uintptr(stackPointer(&r)) &^ 4095, Len: len(buf)}}
	start = time.Now()
	for i := 0; i < n; i++ {
		if _, err := unix.ProcessVMReadv(pid, local, remote, 0); err != nil {
			return 0, 0, err
		}
	}
	readPath = float64(time.Since(start).Nanoseconds()) / n
	return getregs, readPath, nil
}
