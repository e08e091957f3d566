//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"
)

// The mount view serves the pod's files by bind mounts in the program's own
// namespace: the same contents, names, owners, modes, sizes and times as the
// stop path shows (itself checked against the pod in filemeta_test.go), the
// pod's host name, EROFS on a write, no file call stopped (the mounts are
// the program's), and nothing of it on this machine.
func TestMountViewShowsWhatTheStopPathShows(t *testing.T) {
	target, _ := echoPods(t)
	const script = `cat /etc/echo/config/app.conf /etc/echo/secret/password; echo
ls /etc/echo /var/run/secrets/kubernetes.io/serviceaccount
stat -L -c '%n %F %a %u %g %s %Y' /etc/echo/config/app.conf /etc/echo/secret/password /etc/echo/config \
  /var/run/secrets/kubernetes.io/serviceaccount/namespace /etc/resolv.conf
readlink /etc/echo/config/app.conf
hostname; cat /proc/sys/kernel/hostname
echo x > /etc/echo/config/app.conf 2>/dev/null && echo written || echo refused
cat /etc/os-release | head -1`
	run := func(view string) (string, string) {
		out, errOut, code := plugin(t, "run", "pod/"+target.name, "-v", "1", "--fs-view", view, "--", "sh", "-c",
			script+"; grep -c ' /etc/echo/config ' /proc/self/mountinfo || true").run()
		if code != 0 {
			t.Fatalf("--fs-view %s: exit %d\n%s\n%s", view, code, out, errOut)
		}
		return out, errOut
	}
	mount, mountLog := run("mount")
	stops, stopsLog := run("stops")
	if lastLine(mount) != "1" || lastLine(stops) != "0" {
		t.Fatalf("mounts of /etc/echo/config seen by the program: %s under mount, %s under stops; want 1 and 0", lastLine(mount), lastLine(stops))
	}
	mountFiles, stopsFiles := allButLastLine(mount), allButLastLine(stops)
	if mountFiles != stopsFiles {
		t.Fatalf("the mount view shows\n%s\nthe stop path shows\n%s", mountFiles, stopsFiles)
	}
	for _, want := range []string{"greeting = hello from the pod's configmap", target.name + "\n" + target.name + "\n", "refused", "..data/app.conf"} {
		if !strings.Contains(mountFiles, want) {
			t.Fatalf("the mount view shows\n%s\nwant %q in it", mountFiles, want)
		}
	}
	if !strings.Contains(mountLog, "no file call stops") || strings.Contains(stopsLog, "no file call stops") {
		t.Fatalf("-v 1 does not say which view served the files:\n%s\n%s", mountLog, stopsLog)
	}
	if _, err := os.Stat("/etc/echo"); !os.IsNotExist(err) {
		t.Fatalf("/etc/echo shows on this machine after the run: %v", err)
	}
	host, _ := os.Hostname()
	if host == target.name {
		t.Fatal("the pod's host name is this machine's after the run")
	}
}

// What the mount view cannot serve is said in one line under --fs-view
// mount, and served by stops under auto.
func TestMountViewRefusesWhatItCannotServe(t *testing.T) {
	target, _ := echoPods(t)
	_, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-view", "mount", "--fs-write", "--", "true").run()
	if code == 0 || !strings.Contains(errOut, "--fs-view mount: --fs-write (files.write) carries changes to the pod; run with --fs-view stops") || strings.Contains(errOut, "goroutine") {
		t.Fatalf("--fs-view mount --fs-write: exit %d\n%s", code, errOut)
	}
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "-v", "1", "--fs-write", "--", "sh", "-c", "grep -c ' /etc/echo/config ' /proc/self/mountinfo; cat /etc/echo/config/app.conf").run()
	if code != 0 || !strings.HasPrefix(out, "0\ngreeting") || !strings.Contains(errOut, "every file call stops") {
		t.Fatalf("auto with --fs-write: exit %d, %q\n%s", code, out, errOut)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func allButLastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[:len(lines)-1], "\n")
}

// A native program (here --skip-process cat) runs with this machine's files,
// as on the stop path, though the mount view is its parent's; the
// intercepted program it sits beside still sees the pod's.
func TestMountViewLeavesNativeProgramsThisMachinesFiles(t *testing.T) {
	target, _ := echoPods(t)
	local, err := os.ReadFile("/etc/hostname")
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--fs-view", "mount", "--skip-process", "cat", "--", "sh", "-c",
		`cat /etc/hostname; cat /etc/echo/config/app.conf 2>/dev/null || echo absent; python3 -c 'print(open("/etc/hostname").read().strip())'`).run()
	want := string(local) + "absent\n" + target.name + "\n"
	if code != 0 || out != want {
		t.Fatalf("exit %d, got %q, want %q\n%s", code, out, want, errOut)
	}
}
