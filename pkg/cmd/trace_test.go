package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-mirror/kubectl-mirror/internal/testbin"
	"github.com/kubectl-mirror/kubectl-mirror/internal/testenv"
)

// pluginBinary builds kubectl-mirror once: these tests run it the way a user does.
func pluginBinary(t *testing.T) string {
	t.Helper()
	testenv.NeedRoot(t)
	path, err := testbin.Path("kubectl-mirror")
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func runPlugin(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(pluginBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), errOut.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), 0
}

func TestTracePassesTheExitCodeOn(t *testing.T) {
	out, errOut, code := runPlugin(t, "trace", "--", "sh", "-c", "echo hi; exit 7")
	if code != 7 || out != "hi\n" || !strings.Contains(errOut, "kubectl mirror trace: exit status 7") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestTraceJSONListsRemoteFiles(t *testing.T) {
	_, errOut, code := runPlugin(t, "trace", "--json", "--", "cat", "/etc/hostname")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	var sawHostname bool
	for _, l := range lines[:len(lines)-1] {
		var ev struct {
			Syscall, Path string
			Remote        bool
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if ev.Path == "/etc/hostname" && ev.Remote {
			sawHostname = true
		}
	}
	var summary struct {
		RemotePaths []string
		ExitCode    int
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil {
		t.Fatal(err)
	}
	if !sawHostname || len(summary.RemotePaths) != 1 || summary.RemotePaths[0] != "/etc/hostname" {
		t.Fatalf("want /etc/hostname marked remote; got %s", errOut)
	}
}

func TestTraceBadInputIsOneLine(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(notExec, []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"trace"}, {"trace", "--", "no-such-program-xyz"}, {"trace", "extra", "--", "true"}, {"trace", "--", notExec}} {
		out, errOut, code := runPlugin(t, args...)
		if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "error: ") {
			t.Errorf("%v: code %d, stderr %q", args, code, errOut)
		}
		if args[len(args)-1] == notExec && !strings.Contains(errOut, "chmod +x") {
			t.Errorf("a file without x: %q, want the fix named", errOut)
		}
	}
}

// startPlugin starts the plugin in a process group of its own, as a shell
// does for a foreground job, and returns its first stdout line.
func startPlugin(t *testing.T, args ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(pluginBinary(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd, bufio.NewReader(stdout)
}

func TestCtrlCReachesTheProgramNotJustThePlugin(t *testing.T) {
	cmd, out := startPlugin(t, "trace", "--", "sh", "-c", `trap 'echo got-int; exit 42' INT; echo ready; while :; do sleep 0.05; done`)
	if line, _ := out.ReadString('\n'); line != "ready\n" {
		t.Fatalf("got %q", line)
	}
	// What a terminal does on Ctrl-C: SIGINT to the whole foreground group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	line, _ := out.ReadString('\n')
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	if line != "got-int\n" || ee == nil || ee.ExitCode() != 42 {
		t.Fatalf("program said %q, plugin ended with %v; want got-int and exit 42", line, err)
	}
}

func TestKilledPluginTakesTheProgramWithIt(t *testing.T) {
	cmd, out := startPlugin(t, "trace", "--", "sh", "-c", "sleep 300 & echo $!; wait")
	line, _ := out.ReadString('\n')
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("got %q", line)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	testenv.Eventually(t, 10*time.Second, func() bool { return !alive(child) },
		func() string { return fmt.Sprintf("program's child %d survived the plugin's SIGKILL", child) })
}

// alive: running, not gone nor a zombie awaiting its reaper.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	return !strings.HasPrefix(strings.TrimSpace(s[strings.LastIndexByte(s, ')')+1:]), "Z")
}

// TestCtrlCOnARealTerminal types ^C into a pseudo-terminal (script(1) gives
// the plugin one): the terminal interrupts the program itself, the plugin
// does not forward a second SIGINT, and the program's own exit code comes back.
func TestCtrlCOnARealTerminal(t *testing.T) {
	plugin := pluginBinary(t)
	if _, err := exec.LookPath("script"); err != nil {
		testenv.Skip(t, "script(1) is not installed")
	}
	prog := filepath.Join(t.TempDir(), "prog.sh")
	script := `trap 'n=$((n+1)); echo got-int-$n' INT; echo ready; i=0; while [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; exit ${n:-0}`
	if err := os.WriteFile(prog, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	// exec: script(1) runs the line with $SHELL -c, and a dash in between
	// would itself die of the ^C (it does not wait like an interactive shell).
	cmd := exec.Command("script", "-qec", "exec "+plugin+" trace -- sh "+prog+" 2>/dev/null", "/dev/null")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stdout)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("no ready line: %v", err)
		}
		if strings.Contains(line, "ready") {
			break
		}
	}
	_, _ = stdin.Write([]byte{3}) // ^C
	rest, _ := io.ReadAll(r)
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	// Exactly one interrupt: from the terminal, not doubled by the plugin.
	if !strings.Contains(string(rest), "got-int-1") || strings.Contains(string(rest), "got-int-2") || ee == nil || ee.ExitCode() != 1 {
		t.Fatalf("after ^C: output %q, exit %v; want one got-int and exit 1", rest, err)
	}
}

// TestTraceSaysWhichProcessesRanNative: the exec lines and the summary say
// which programs were intercepted, stepped as launchers or ran native, and
// the two switches change it.
func TestTraceSaysWhichProcessesRanNative(t *testing.T) {
	script := "go version >/dev/null && cat /etc/hostname >/dev/null"
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{nil, []string{"[pid ", " sh] exec ", ": launcher", " go] exec ", "go: native", " cat] exec ", "cat: intercepted",
			`[pid `, ` cat] openat "/etc/hostname"`, "processes: 1 intercepted, 1 launcher, 1 native"}},
		{[]string{"--skip-process", "cat"}, []string{"cat: native", "processes: 0 intercepted, 1 launcher, 2 native"}},
		{[]string{"--skip-build-tools=false"}, []string{"go: intercepted", "processes: 3 intercepted, 0 launchers, 0 native"}},
	} {
		args := append(append([]string{"trace"}, tc.flags...), "--", "sh", "-c", script)
		_, errOut, code := runPlugin(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.flags, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: no %q in:\n%s", tc.flags, w, errOut)
			}
		}
	}
	if _, errOut, code := runPlugin(t, "trace", "--skip-process", "/usr/bin/go", "--", "true"); code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.Contains(errOut, `"go"`) {
		t.Errorf("a path given to --skip-process: exit %d, %q; want one line naming the fix", code, errOut)
	}
}

// TestTraceTellsTheHandOverToADebugger: gdb runs as a debugger, the program
// it starts is handed to it, and that program's calls are still traced.
func TestTraceTellsTheHandOverToADebugger(t *testing.T) {
	testenv.NeedRoot(t)
	_, errOut, code := runPlugin(t, "trace", "--", "gdb", "-nx", "-batch", "-ex", "run", "--args", "cat", "/etc/hostname")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{" gdb] exec ", ": debugger", "handed to its debugger", `openat "/etc/hostname"`, "1 debuggers"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("no %q in:\n%s", w, errOut)
		}
	}
}
