package tracer

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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

// launch installs the filter on this thread, waits for the tracer's go-ahead
// and execs the program in place (argv after "--"). It never returns.
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
	if err := installFilter(); err != nil {
		fail("install seccomp filter: %v", err)
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
