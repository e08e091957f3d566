package cmd

import (
	"testing"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/kube"
)

func TestContainersColumnMarksSidecars(t *testing.T) {
	got := containersColumn([]kube.ListedPort{
		{Container: "app", Ports: []string{"8080/TCP", "9000/TCP"}},
		{Container: "worker", Ports: []string{}},
		{Container: "proxy", Ports: []string{"15001/TCP"}, Sidecar: true},
		{Container: "logs", Ports: []string{}, Sidecar: true},
	})
	if want := "app (8080/TCP,9000/TCP) worker proxy[sidecar] (15001/TCP) logs[sidecar]"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
