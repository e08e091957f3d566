#!/usr/bin/env bash
# Build Kubernetes, etcd and CoreDNS from Go modules into $BIN, once per version.
# k8s.io/kubernetes cannot be `go install`ed (its module zip has no staging/), so the
# k8sbuild module requires it and replaces every staging module with the matching v0.x.
set -euo pipefail
source "$(dirname "$0")/config.sh"
trap 'log "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND"' ERR
mkdir -p "$BIN"
ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$K8S_MINOR"
  ldflags="$ldflags -X $p.gitCommit=$K8S_VERSION-modbuild -X $p.gitTreeState=clean -X $p.buildDate=2025-02-12T00:00:00Z"
done
# Minutes each build took on 2 cores with the modules downloaded, said before it starts so
# a cold first run does not sit silent.
declare -A minutes=([kube-apiserver]=8 [kube-controller-manager]=3)
build() { # build NAME PACKAGE DIR LDFLAGS [MODFILE]
  local name=$1 pkg=$2 dir=$3 ldf=$4 modfile=${5:-go.mod}
  [ -x "$BIN/$name" ] && return 0
  log "building $name $K8S_VERSION (first run only, about ${minutes[$name]:-1} min on 2 cores; cached in $BIN)"
  local start=$SECONDS
  (cd "$dir" && CGO_ENABLED=0 go build -modfile="$modfile" -trimpath -tags=selinux,notest -ldflags "$ldf" -o "$BIN/$name.tmp" "$pkg")
  mv "$BIN/$name.tmp" "$BIN/$name"
  log "built $name in $((SECONDS - start))s"
}
k8s=$REPO/test/cluster/k8sbuild
for c in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do
  build "$c" "k8s.io/kubernetes/cmd/$c" "$k8s" "$ldflags" "$K8S_MODFILE"
done
build etcd go.etcd.io/etcd/server/v3 "$k8s" "-s -w" "$K8S_MODFILE"
build crictl-lite ./crictl-lite "$k8s" "-s -w" "$K8S_MODFILE"
build coredns . "$REPO/test/cluster/corednsbuild" "-s -w"
# Istio's pilot-agent for the meshed pods' init container (istio-iptables).
build pilot-agent istio.io/istio/pilot/cmd/pilot-agent "$REPO/test/cluster/istiobuild" "-s -w"
