//go:build tools

// Package k8sbuild pins the Kubernetes and etcd main packages the test cluster
// builds from Go modules. It is never compiled; build.sh builds each package.
package k8sbuild

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"

	_ "go.etcd.io/etcd/server/v3"
)
