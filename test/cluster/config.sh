# Settings shared by every harness script (sourced, never run).
# Fixed addresses: one test cluster per machine. Every address lives on a bridge or a
# network namespace this harness creates; nothing is routed off the machine.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# K8S_VERSION picks the cluster: the newest the module proxy serves by default, v1.32 the
# oldest we support. Each version's modules are pinned in test/cluster/k8sbuild (go.mod for
# the default, go.v1.MINOR.mod for the others).
# The running cluster's version (recorded by up.sh) when none is asked for, so kubectl,
# down.sh and check-clean.sh use the binaries the cluster runs.
STATE=${MIRROR_CLUSTER_STATE:-/var/lib/kubectl-mirror-cluster}
K8S_DEFAULT_VERSION=v1.37.2
K8S_VERSION=${K8S_VERSION:-$(cat "$STATE/k8s-version" 2>/dev/null || echo $K8S_DEFAULT_VERSION)}
K8S_MINOR=${K8S_VERSION#v1.}; K8S_MINOR=${K8S_MINOR%%.*}
case $K8S_VERSION in
  v1.37.2) K8S_MODFILE=go.mod ;;
  v1.32.2) K8S_MODFILE=go.v1.32.mod ;;
  *) printf '[cluster] K8S_VERSION=%s is not built by this harness: use v1.37.2 (default) or v1.32.2\n' "$K8S_VERSION" >&2; exit 2 ;;
esac
COREDNS_VERSION=v1.12.0
# Built binaries are cached by version outside the repository so only the first run pays.
CACHE=${MIRROR_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-mirror/cluster-$K8S_VERSION}
BIN=$CACHE/bin
# Runtime state (etcd, containerd, kubelet, pki) in $STATE; removed by cluster-down.
PKI=$STATE/pki
RUN=$STATE/run
LOGS=$STATE/logs
KUBECONFIG_OUT=$REPO/.cluster/kubeconfig
NODE_NAME=mirror-node
NODE_IF=mirror0          # port-less bridge holding the node address (the kernel has no dummy links)
NODE_IP=10.250.0.1
POD_CIDR=10.244.0.0/24
POD_GW=10.244.0.1
SVC_CIDR=10.96.0.0/16
KUBERNETES_SVC_IP=10.96.0.1
DNS_SVC_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
APISERVER=https://$NODE_IP:6443
CONTAINERD_SOCK=$RUN/containerd/containerd.sock
PAUSE_IMAGE=mirror.test/pause:3.10
# The image registry (test/cluster/registry) on the node's address: containerd pulls
# mirror.test/* and ghcr.io/* from it; a second one asks for basic auth.
REGISTRY=$NODE_IP:5000
AUTH_REGISTRY=$NODE_IP:5001
AUTH_REGISTRY_CREDS=mirror-test:pull-secret-test
# The "laptop": a network namespace that reaches the API server and nothing else.
LAPTOP_NS=mirror-laptop
LAPTOP_HOST_IF=mirror-lap0
LAPTOP_NS_IF=eth0
LAPTOP_HOST_IP=10.251.0.1
LAPTOP_NS_IP=10.251.0.2
export PATH=$BIN:/usr/local/go/bin:$PATH
export GOFLAGS=${GOFLAGS:--buildvcs=false}
log() { printf '[cluster] %s\n' "$*" >&2; }
