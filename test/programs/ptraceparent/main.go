// Command ptraceparent is the smallest debugger: it starts its program as
// dlv and gdb do (fork, PTRACE_TRACEME, exec), traces it to its end
// passing every signal on, and exits as it did. The tracer's tests use it
// to hand programs to the notification engine without a real debugger.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ptraceparent PROGRAM [ARGS...]")
		os.Exit(2)
	}
	// Every ptrace request must come from the thread that became the tracer.
	runtime.LockOSThread()
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true, Setpgid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "ptraceparent:", err)
		os.Exit(127)
	}
	pid := cmd.Process.Pid
	for {
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != nil {
			fmt.Fprintln(os.Stderr, "ptraceparent: wait:", err)
			os.Exit(1)
		}
		switch {
		case ws.Exited():
			os.Exit(ws.ExitStatus())
		case ws.Signaled():
			os.Exit(128 + int(ws.Signal()))
		case ws.Stopped():
			sig := ws.StopSignal()
			if sig == syscall.SIGTRAP {
				sig = 0 // the exec stop: ours, not the program's
			}
			if err := syscall.PtraceCont(pid, int(sig)); err != nil {
				fmt.Fprintln(os.Stderr, "ptraceparent: cont:", err)
				os.Exit(1)
			}
		}
	}
}
