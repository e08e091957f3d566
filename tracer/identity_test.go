package tracer

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// uname -n (glibc's uname) and python3's socket.gethostname() report the
// pod's name under the tracer, and the rest of uname is the kernel's.
func TestUnameReportsTheConfiguredHostname(t *testing.T) {
	needPtrace(t)
	native, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	for _, argv := range [][]string{
		{"uname", "-n", "-r"},
		{"python3", "-c", "import os, socket; print(socket.gethostname(), os.uname().release)"},
		{"sh", "-c", "domainname; uname -r"}, // the NIS domain name: a second field of uname
	} {
		out, err := os.CreateTemp(t.TempDir(), "stdout")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		st, err := Trace(ctx, withEngine(Config{Path: argv[0], Args: argv, Stdout: out, Stderr: os.Stderr, Hostname: "echo-7d9f-abcde", Domainname: "pods.example"}))
		cancel()
		if err != nil || st.Code != 0 {
			t.Fatalf("%v: %v %+v", argv, err, st)
		}
		b, _ := os.ReadFile(out.Name())
		out.Close()
		want := "echo-7d9f-abcde " + strings.TrimSpace(string(native))
		if argv[0] == "sh" {
			want = "pods.example\n" + strings.TrimSpace(string(native))
		}
		if got := strings.TrimSpace(string(b)); got != want {
			t.Errorf("%v: got %q, want %q", argv[0], got, want)
		}
	}
}

// A root program cannot rename this machine while it is given the pod's
// name (run in a UTS namespace of its own, so that a failure of this test
// renames nothing either).
func TestSethostnameRefusedUnderThePodsName(t *testing.T) {
	needPtrace(t)
	before, _ := os.Hostname()
	r := runTracedWith(t, Config{Hostname: "api-7d9f"}, "unshare", "-u", "sh", "-c", "hostname renamed 2>/dev/null && echo renamed || echo refused; hostname")
	if r.stdout != "refused\napi-7d9f\n" {
		t.Fatalf("got %q, want the rename refused and the pod's name kept", r.stdout)
	}
	if after, _ := os.Hostname(); after != before {
		t.Fatalf("this machine is now %q (was %q)", after, before)
	}
}
