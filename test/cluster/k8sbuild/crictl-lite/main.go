// Command crictl-lite is the one CRI call the cluster harness needs that no
// packaged tool offers here: stop and remove every pod sandbox, so that the
// runtime runs CNI DEL and the veths, IP leases and netns mounts go away
// before containerd stops. (cri-tools on the module proxy does not build
// against Kubernetes 1.32.)
//
//	crictl-lite -r unix:///path/containerd.sock remove-all-pods
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	endpoint := flag.String("r", "", "CRI endpoint, unix:///path/to/containerd.sock")
	flag.Parse()
	if *endpoint == "" || flag.Arg(0) != "remove-all-pods" {
		fmt.Fprintln(os.Stderr, "usage: crictl-lite -r unix:///path/containerd.sock remove-all-pods")
		os.Exit(2)
	}
	if err := removeAllPods(*endpoint); err != nil {
		fmt.Fprintln(os.Stderr, "crictl-lite:", err)
		os.Exit(1)
	}
}

func removeAllPods(endpoint string) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("list pod sandboxes: %w", err)
	}
	var failed int
	for _, p := range list.Items {
		name := p.Metadata.Namespace + "/" + p.Metadata.Name
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			fmt.Fprintf(os.Stderr, "stop %s: %v\n", name, err)
			failed++
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			fmt.Fprintf(os.Stderr, "remove %s: %v\n", name, err)
			failed++
			continue
		}
		fmt.Printf("removed pod sandbox %s\n", name)
	}
	if failed > 0 {
		return fmt.Errorf("%d pod sandboxes not removed", failed)
	}
	return nil
}
