package tracer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDifferential runs real programs natively and under the tracer (every
// intercepted call allowed) and expects the same output and exit status.
func TestDifferential(t *testing.T) {
	needPtrace(t)
	data := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(data, []byte("some file content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mk := filepath.Join(t.TempDir(), "Makefile")
	if err := os.WriteFile(mk, []byte("all:\n\t@echo from make; cat "+data+"\n\t@sh -c 'exit 4'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pyScript := `import os, socket, threading, subprocess
print(open("` + data + `").read().strip(), os.path.exists("/nonexistent"))
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1); port = s.getsockname()[1]
c = socket.create_connection(("127.0.0.1", port)); a, _ = s.accept(); a.sendall(b"py-loopback"); print(c.recv(64).decode())
t = [threading.Thread(target=lambda: os.stat("/")) for _ in range(8)]; [x.start() for x in t]; [x.join() for x in t]
print(subprocess.run(["sh", "-c", "echo sub; exit 3"], capture_output=True).stdout.decode().strip())`
	cases := []struct {
		name string
		argv []string
	}{
		{"static go cat", []string{progs.goStatic, "cat", data}},
		{"static go stat", []string{progs.goStatic, "stat", data}},
		{"cgo go cat", []string{progs.goCgo, "cat", data}},
		{"static go 120 threads", []string{progs.goStatic, "threads", "120"}},
		{"glibc cat", []string{progs.cGlibc, "cat", data}},
		{"musl static cat", []string{progs.cMusl, "cat", data}},
		{"glibc posix_spawn", []string{progs.cGlibc, "spawn"}},
		{"musl posix_spawn", []string{progs.cMusl, "spawn"}},
		{"python3", []string{"python3", "-c", pyScript}},
		{"sh pipeline", []string{"sh", "-c", "printf 'b\\na\\nc\\n' | sort | tr a-z A-Z | head -2; cat " + data + " | wc -c"}},
		{"exec from a non-leader thread", []string{progs.goStatic, "threadexec", "sh", "-c", "echo exec from a thread; exit 3"}},
		{"exit code", []string{"sh", "-c", "exit 7"}},
		{"make", []string{"make", "-s", "-f", mk}},
		{"death by signal", []string{"sh", "-c", "kill -SEGV $$"}},
		{"missing file", []string{progs.goStatic, "cat", "/nonexistent/file"}},
	}
	// Every process intercepted, and shells stepped as launchers.
	policies := map[string]Policy{"all intercepted": {}, "default policy": DefaultPolicy()}
	for _, tc := range cases {
		native := runNative(t, "", tc.argv...)
		for pname, policy := range policies {
			t.Run(tc.name+"/"+pname, func(t *testing.T) {
				traced := runTracedWith(t, Config{Policy: policy}, tc.argv...)
				if native != traced {
					t.Fatalf("native and traced differ\nnative: %+v\ntraced: %+v", native, traced)
				}
			})
		}
	}
}

// TestGoRun traces `go run .`: the go tool, compile, link and the built
// program, every process and thread of it.
func TestGoRun(t *testing.T) {
	needPtrace(t)
	dir := filepath.Join(repoDir(), "test", "programs", "gorun")
	native := runNative(t, dir, "go", "run", ".")
	traced := runTraced(t, nil, dir, "go", "run", ".")
	if native != traced || !strings.Contains(traced.stdout, "gorun says: built and run under the tracer") {
		t.Fatalf("native: %+v\ntraced: %+v", native, traced)
	}
}

// holdAll holds every path call and decides each on another goroutine a
// moment later, as a session asking the agent does.
type holdAll struct{}

func (holdAll) Socket(*Call) Verdict { return Allow() }
func (holdAll) Path(c *Call) Verdict {
	go func() {
		time.Sleep(50 * time.Microsecond) // the behaviour under test: a decision that comes a moment later
		c.Resume(Allow())
	}()
	return Hold()
}

// TestHeldCallsLetOtherThreadsRun: 120 threads whose every open and stat is
// held and resumed asynchronously still finish with the native result.
func TestHeldCallsLetOtherThreadsRun(t *testing.T) {
	needPtrace(t)
	native := runNative(t, "", progs.goStatic, "threads", "120")
	traced := runTraced(t, holdAll{}, "", progs.goStatic, "threads", "120")
	if native != traced {
		t.Fatalf("native: %+v\ntraced: %+v", native, traced)
	}
}

// TestBypassesAreClosed: io_uring would carry I/O past the filter, and the
// 32-bit int 0x80 gate uses other syscall numbers; both fail with ENOSYS.
func TestBypassesAreClosed(t *testing.T) {
	needPtrace(t)
	// Filtered, and stepped as a launcher (the tracer applies the filter's rules).
	stepped := Policy{Launchers: []string{filepath.Base(progs.cGlibc)}}
	wants := map[string]string{"iouring": "io_uring_setup: ENOSYS\n", "int80": "int80: ENOSYS\n"}
	if runNative(t, "", progs.cGlibc, "int80").stdout == "" {
		// A kernel without 32-bit emulation (ia32_emulation=0) faults at
		// int 0x80 before the filter sees it: the gate is closed for all.
		wants["int80"] = ""
	}
	for _, policy := range []Policy{{}, stepped} {
		for mode, want := range wants {
			got := runTracedWith(t, Config{Policy: policy}, progs.cGlibc, mode)
			if got.stdout != want {
				t.Errorf("%s, %+v: got %q, want %q (native: %q)", mode, policy, got.stdout, want, runNative(t, "", progs.cGlibc, mode).stdout)
			}
		}
	}
}
