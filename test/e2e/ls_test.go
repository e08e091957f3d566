//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestLsListsTargetsAndTheAgentsARunLeft: after a run against deploy/echo,
// `ls -o json` lists deploy/echo with its pods, their ports, and that run's
// agent as the caller's, running; other targets are listed beside it.
func TestLsListsTargetsAndTheAgentsARunLeft(t *testing.T) {
	out, errOut, code := plugin(t, "run", "deploy/echo", "--", "sh", "-c", "echo $POD_NAME").run()
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	pod := strings.TrimSpace(out)
	out, errOut, code = plugin(t, "ls", "-o", "json").timeout(time.Minute).run()
	if code != 0 {
		t.Fatalf("ls: exit %d: %s", code, errOut)
	}
	var got struct {
		Targets []struct {
			Target     string
			Containers []struct {
				Container string
				Ports     []string
			}
			Pods []struct {
				Name   string
				Ready  bool
				Agents []struct {
					Name, Container, Tier, State string
					Yours                        bool
				}
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("ls -o json: %v\n%s", err, out)
	}
	seen := map[string]bool{}
	for _, tg := range got.Targets {
		seen[tg.Target] = true
		if tg.Target != "deployment/echo" {
			continue
		}
		if len(tg.Pods) != 2 || len(tg.Containers) == 0 || !strings.Contains(strings.Join(tg.Containers[0].Ports, ","), "8080/TCP") {
			t.Errorf("deployment/echo: %+v", tg)
		}
		for _, p := range tg.Pods {
			if p.Name != pod {
				continue
			}
			for _, a := range p.Agents {
				if a.Yours && a.State == "running" && a.Container == "echo" && a.Tier == "outgoing" {
					seen["agent"] = true
				}
			}
		}
	}
	if !seen["deployment/echo"] || !seen["pod/toolbox"] || !seen["agent"] {
		t.Fatalf("want deployment/echo, pod/toolbox and the run's agent in %s as yours and running; got %s", pod, out)
	}
}

// TestLsWithFewerRights: a user who may list pods and deployments but no
// other workload kind gets what they may see and one line naming the rest.
func TestLsWithFewerRights(t *testing.T) {
	out, errOut, code := plugin(t, "ls").kubeconfig(limitedKubeconfig(t)).timeout(time.Minute).run()
	if code != 0 || !strings.Contains(out, "deployment/echo") || !strings.Contains(out, "pod/toolbox") ||
		strings.TrimSpace(errOut) != "kubectl mirror ls: not listed, you may not list them: statefulsets, daemonsets, jobs" {
		t.Fatalf("exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
}
