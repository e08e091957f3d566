// Package launcher is the start of every traced program: the plugin's own
// binary re-executed with Env set waits, in this package's init, for the
// tracer to seize it, then execs the program. It imports the standard
// library alone, so that its init runs before most of the binary's others
// (Go initializes packages in import path order, dependencies first) and
// each run pays little of the plugin's start-up.
package launcher

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Env marks a re-executed binary as the launcher; its value is the
// program's resolved path.
const Env = "KUBECTL_MIRROR_TRACER_LAUNCH"

// GoFD is the pipe the tracer closes once it has seized the launcher: the
// first of exec.Cmd's ExtraFiles.
const GoFD = 3

func init() {
	path := os.Getenv(Env)
	if path == "" {
		return
	}
	// During init the main goroutine is on the main thread: the thread-group
	// leader, which is the thread the tracer seizes and the one that execs.
	runtime.LockOSThread()
	launch(path)
}

// launch waits for the tracer's go-ahead and execs the program in place
// (argv after "--"); the tracer decides at that exec how the program runs.
// It never returns.
func launch(path string) {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, filepath.Base(os.Args[0])+": "+format+"\n", args...)
		os.Exit(127)
	}
	argv := os.Args
	for i, a := range argv {
		if a == "--" {
			argv = argv[i+1:]
			break
		}
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, Env+"=") {
			env = append(env, kv)
		}
	}
	// EOF means the tracer has seized us, or that the plugin died first:
	// then the program must not run at all, since nothing would intercept it.
	var b [1]byte
	for {
		if _, err := syscall.Read(GoFD, b[:]); err != syscall.EINTR {
			break
		}
	}
	syscall.Close(GoFD)
	if !traced() {
		fail("the tracer is gone; %s was not started", path)
	}
	err := syscall.Exec(path, argv, env)
	fail("exec %s: %v", path, err)
}

// Is reports whether pid runs our launcher (its environment, as it
// exec'd, carries the marker).
func Is(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return bytes.HasPrefix(env, []byte(Env+"=")) || bytes.Contains(env, []byte("\x00"+Env+"="))
}

// traced reports whether this process has a tracer (TracerPid in its status).
func traced() bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "TracerPid:"); ok {
			return strings.TrimSpace(v) != "0"
		}
	}
	return false
}
