package tracer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// launcherEnv marks a re-executed binary as the launcher; its value is the
// program's resolved path.
const launcherEnv = "KUBECTL_MIRROR_TRACER_LAUNCH"

// launcherGoFD is the pipe the tracer closes once it has seized the launcher.
const launcherGoFD = 3

func init() {
	path := os.Getenv(launcherEnv)
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
		if !strings.HasPrefix(kv, launcherEnv+"=") {
			env = append(env, kv)
		}
	}
	// read() is not filtered; EOF means the tracer has seized us.
	var b [1]byte
	for {
		if _, err := unix.Read(launcherGoFD, b[:]); err != unix.EINTR {
			break
		}
	}
	unix.Close(launcherGoFD)
	err := syscall.Exec(path, argv, env)
	fail("exec %s: %v", path, err)
}

// isLauncher reports whether pid runs our launcher (its environment, as it
// exec'd, carries the marker).
func isLauncher(pid int) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	return bytes.HasPrefix(env, []byte(launcherEnv+"=")) || bytes.Contains(env, []byte("\x00"+launcherEnv+"="))
}
