// Package launcher is the start of every traced program: the plugin's own
// binary re-executed with Env set waits, in this package's init, for the
// tracer to seize it, then execs the program. It imports syscall and
// runtime alone: Go initializes a package as soon as it is the first, in
// import path order, whose imports are all initialized, so with nothing
// but those two this init runs before almost all of the binary's others
// (client-go's, protobuf's), and each traced run pays little of the
// plugin's start-up.
package launcher

import (
	"runtime"
	"syscall"
)

// Env marks a re-executed binary as the launcher; its value is the
// program's resolved path.
const Env = "KUBECTL_MIRROR_TRACER_LAUNCH"

// GoFD is the pipe the tracer closes once it has seized the launcher: the
// first of exec.Cmd's ExtraFiles.
const GoFD = 3

func init() {
	path, ok := syscall.Getenv(Env)
	if !ok || path == "" {
		return
	}
	// During init the main goroutine is on the main thread: the thread-group
	// leader, which is the thread the tracer seizes and the one that execs.
	runtime.LockOSThread()
	launch(path)
}

// launch waits for the tracer's go-ahead and execs the program in place
// (argv after the first "--" past argv[0]); the tracer decides at that
// exec how the program runs.
func launch(path string) {
	args, err := readFile("/proc/self/cmdline")
	if err != nil {
		fail("read its arguments: " + err.Error())
	}
	argv := split(args)
	for i := 1; i < len(argv); i++ {
		if argv[i] == "--" {
			argv = argv[i+1:]
			break
		}
	}
	var env []string
	for _, kv := range syscall.Environ() {
		if len(kv) <= len(Env) || kv[:len(Env)+1] != Env+"=" {
			env = append(env, kv)
		}
	}
	// EOF means the tracer has seized us, or that the plugin died first:
	// then the program must not run at all, since nothing would intercept it.
	// What comes before it is the mount view's plan (mountview.go).
	plan, _ := readAll(GoFD) // a read error ends the plan as EOF does
	_ = syscall.Close(GoFD)
	if !traced() {
		fail("the tracer is gone; " + path + " was not started")
	}
	if len(plan) > 0 {
		why := mountView(plan)
		if why != "" && plan[0] == 'f' {
			failAs("kubectl mirror", "--fs-view mount: "+why+"; run with --fs-view stops (or auto)")
		}
		report := "ok"
		if why != "" {
			report = why
		}
		_, _ = syscall.Write(ReportFD, []byte(report))
		_ = syscall.Close(ReportFD)
	}
	err = syscall.Exec(path, argv, env)
	fail("exec " + path + ": " + err.Error())
}

// readAll reads fd to its end, or to an error other than EINTR (with what
// came before it).
func readAll(fd int) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return out, err
		}
		if n <= 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}

// fail says why on stderr, as the program's name, and exits 127.
func fail(msg string) {
	name := "kubectl-mirror"
	if a, err := readFile("/proc/self/cmdline"); err == nil {
		if argv := split(a); len(argv) > 0 {
			name = base(argv[0])
		}
	}
	failAs(name, msg)
}

// failAs says why on stderr, as name, and exits 127.
func failAs(name, msg string) {
	_, _ = syscall.Write(2, []byte(name+": "+msg+"\n"))
	syscall.Exit(127)
}

// traced reports whether this process has a tracer (TracerPid in its status).
func traced() bool {
	b, err := readFile("/proc/self/status")
	if err != nil {
		return false
	}
	const key = "\nTracerPid:\t"
	for i := 0; i+len(key) < len(b); i++ {
		if string(b[i:i+len(key)]) == key {
			return b[i+len(key)] != '0'
		}
	}
	return false
}

// readFile reads a whole (proc) file with the syscall package alone.
func readFile(path string) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	out, err := readAll(fd)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// split cuts a NUL-separated list (each entry NUL-terminated).
func split(b []byte) []string {
	var out []string
	for start, i := 0, 0; i < len(b); i++ {
		if b[i] == 0 {
			out = append(out, string(b[start:i]))
			start = i + 1
		}
	}
	return out
}

// base is the last element of a slash-separated path.
func base(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
