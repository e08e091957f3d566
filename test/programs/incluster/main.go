// Command incluster is an unchanged in-cluster client: rest.InClusterConfig
// (KUBERNETES_SERVICE_HOST, the service-account token and CA files), then a
// list of the pods in its own namespace. Under kubectl mirror run it works on
// the laptop exactly as in the pod.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const namespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "incluster:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ns, err := os.ReadFile(namespaceFile)
	if err != nil {
		return err
	}
	pods, err := cs.CoreV1().Pods(strings.TrimSpace(string(ns))).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		fmt.Println(p.Name)
	}
	return nil
}
