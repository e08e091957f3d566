//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// containerVariable reads a variable of a container's process straight
// from this machine's /proc (the node is this machine): the truth the
// agent's answer is checked against.
func containerVariable(t *testing.T, pod, container, key string) string {
	t.Helper()
	p, err := clientset(t).CoreV1().Pods("default").Get(context.Background(), pod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	for _, st := range p.Status.ContainerStatuses {
		if st.Name == container {
			_, id, _ = strings.Cut(st.ContainerID, "://")
		}
	}
	for _, pid := range processesIn(id) {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(b), "\x00") {
			if v, ok := strings.CutPrefix(kv, key+"="); ok {
				return v
			}
		}
	}
	t.Fatalf("no process of container %s of pod %s on this machine has %s", container, pod, key)
	return ""
}

// TestEnvUnsetAndLoad: --env-unset removes a variable of this machine's
// (and of the pod's); --env-load's values are over the pod's and under
// --env.
func TestEnvUnsetAndLoad(t *testing.T) {
	target, _ := echoPods(t)
	local := []string{"MYLOCAL=x", "AWS_PROFILE=dev"}
	script := `echo "[$MYLOCAL][$AWS_PROFILE][$FROM_CONFIGMAP][$POD_NAME]"`
	out, errOut, code := plugin(t, "run", "pod/"+target.name, "--", "sh", "-c", script).env(local...).run()
	if want := "[x][dev][configmap-value][" + target.name + "]\n"; code != 0 || out != want {
		t.Fatalf("without --env-unset: exit %d, stdout %q, want %q\n%s", code, out, want, errOut)
	}
	out, errOut, code = plugin(t, "run", "pod/"+target.name,
		"--env-unset", "MYLOCAL", "--env-unset", "AWS_*", "--env-unset", "FROM_*", "--", "sh", "-c", script).env(local...).run()
	if want := "[][][][" + target.name + "]\n"; code != 0 || out != want {
		t.Fatalf("--env-unset: exit %d, stdout %q, want %q\n%s", code, out, want, errOut)
	}

	file := filepath.Join(t.TempDir(), "dev.env")
	text := "# local settings\nexport FROM_FILE='single $literal'\nLITERAL=\"from \\\"the file\\\"\"\nOVERRIDDEN=file # comment\n"
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = plugin(t, "run", "pod/"+target.name, "--env-load", file, "--env", "OVERRIDDEN=flag",
		"--", "sh", "-c", `echo "[$FROM_FILE][$LITERAL][$OVERRIDDEN][$FROM_CONFIGMAP]"`).env(local...).run()
	if want := "[single $literal][from \"the file\"][flag][configmap-value]\n"; code != 0 || out != want {
		t.Fatalf("--env-load: exit %d, stdout %q, want %q\n%s", code, out, want, errOut)
	}

	bad := filepath.Join(t.TempDir(), "bad.env")
	if err := os.WriteFile(bad, []byte("A=1\nB=\"open\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = plugin(t, "run", "pod/"+target.name, "--env-load", bad, "--", "true").run()
	if code == 0 || !strings.Contains(errOut, bad+":2: B: no closing double quote") || strings.Contains(errOut, "target ") {
		t.Fatalf("malformed --env-load file: exit %d, want refused naming its line before the cluster is reached\n%s", code, errOut)
	}
}

// TestEnvIncludePathGivesThePodsPath: --env-include PATH, named exactly,
// gives the program the pod's PATH, while the program itself is still
// found on this machine's PATH (print-path is nowhere on the pod's).
func TestEnvIncludePathGivesThePodsPath(t *testing.T) {
	target, _ := echoPods(t)
	podPath := containerVariable(t, target.name, "echo", "PATH")
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "print-path"), []byte("#!/bin/sh\necho \"$PATH\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	localPath := bin + ":/usr/sbin:/usr/bin:/sbin:/bin"
	if localPath == podPath || strings.Contains(podPath, bin) {
		t.Fatalf("the pod's PATH %q cannot tell the two apart", podPath)
	}
	local := []string{"PATH=" + localPath}
	for _, tc := range []struct {
		include []string
		command []string
		want    string
	}{
		{nil, []string{"sh", "-c", `echo "$PATH"`}, localPath},
		{[]string{"*"}, []string{"sh", "-c", `echo "$PATH"`}, localPath},
		{[]string{"PATH"}, []string{"sh", "-c", `echo "$PATH"`}, podPath},
		{[]string{"PATH"}, []string{"print-path"}, podPath},
	} {
		args := []string{"run", "pod/" + target.name}
		for _, inc := range tc.include {
			args = append(args, "--env-include", inc)
		}
		out, errOut, code := plugin(t, append(append(args, "--"), tc.command...)...).env(local...).run()
		if code != 0 || out != tc.want+"\n" {
			t.Errorf("--env-include %q, %v: exit %d, stdout %q, want %q\n%s", tc.include, tc.command, code, out, tc.want, errOut)
		}
	}
}
