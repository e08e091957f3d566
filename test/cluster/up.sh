#!/usr/bin/env bash
# Bring up the single-node test cluster: etcd, containerd (runc, CNI bridge),
# kube-apiserver, controller-manager, scheduler, kubelet, kube-proxy, CoreDNS and
# the echo workload. Idempotent: running components are left alone. Writes the
# admin kubeconfig to .cluster/kubeconfig. Timeline in $LOGS/timeline.txt.
set -euo pipefail
here=$(dirname "$0")
source "$here/config.sh"
trap 'log "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND"' ERR
t0=$(date +%s.%N)
running=$(cat "$STATE/k8s-version" 2>/dev/null || true)
if [ -n "$running" ] && [ "$running" != "$K8S_VERSION" ]; then
  log "a $running cluster is up; stop it first (make cluster-down), then start $K8S_VERSION"
  exit 1
fi
mkdir -p "$RUN/pids" "$LOGS" "$RUN/etcd" "$RUN/kubelet" "$RUN/containerd" "$RUN/pod-logs" "$RUN/cni/networks" "$STATE/etc/cni"
: > "$LOGS/timeline.txt"
echo "$K8S_VERSION" > "$STATE/k8s-version"
mark() { awk -v t0="$t0" -v now="$(date +%s.%N)" -v msg="$*" 'BEGIN{printf "%6.1fs %s\n", now-t0, msg}' | tee -a "$LOGS/timeline.txt" >&2; }
# start NAME CMD...: run in the background with a pid file and a log, unless already running.
start() {
  local name=$1; shift
  local pidf=$RUN/pids/$name.pid
  if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  setsid "$@" > "$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$pidf"
}
# waitfor WHAT SECONDS CMD...: poll CMD until it succeeds; fail with the log hint.
waitfor() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then mark "TIMEOUT: $what (logs in $LOGS)"; return 1; fi
    sleep 0.2
  done
  mark "$what"
}
render() { # render TEMPLATE OUT: fill in @NAME@ placeholders
  sed -e "s#@STATE@#$STATE#g" -e "s#@NODE_IP@#$NODE_IP#g" -e "s#@DNS_SVC_IP@#$DNS_SVC_IP#g" \
      -e "s#@POD_CIDR@#$POD_CIDR#g" -e "s#@POD_GW@#$POD_GW#g" -e "s#@PAUSE_IMAGE@#$PAUSE_IMAGE#g" "$1" > "$2"
}
K="kubectl --kubeconfig=$STATE/admin.kubeconfig"

"$here/install-deps.sh"
"$here/build-binaries.sh"
[ -f "$STATE/baseline/sysctl.txt" ] || "$here/record-baseline.sh"
"$here/gen-certs.sh"
render "$here/etc/containerd.toml" "$STATE/etc/containerd.toml"
render "$here/etc/kubelet.yaml" "$STATE/etc/kubelet.yaml"
render "$here/etc/cni.conflist" "$STATE/etc/cni/10-mirrornet.conflist"
"$here/build-images.sh"
mark "binaries, certificates and images ready"

# The node address lives on a port-less bridge of ours, never on the host's own interfaces.
ip link show "$NODE_IF" >/dev/null 2>&1 || {
  ip link add "$NODE_IF" type bridge; ip addr add "$NODE_IP/32" dev "$NODE_IF"; ip link set "$NODE_IF" up; }

# The laptop first: `ip netns add` bind-mounts /run/netns onto itself, and doing that
# after containerd has made pod netns mounts duplicates them so they can never be removed.
"$here/laptop.sh" setup
# The registry, and containerd's hosts for it: server = the registry itself, so a
# pull never falls back to the real mirror.test or ghcr.io.
for host in mirror.test ghcr.io "$REGISTRY" "$AUTH_REGISTRY"; do
  server=http://$REGISTRY; [ "$host" = "$AUTH_REGISTRY" ] && server=http://$AUTH_REGISTRY
  mkdir -p "$STATE/etc/containerd/certs.d/$host"
  printf 'server = "%s"\n\n[host."%s"]\n  capabilities = ["pull", "resolve"]\n' "$server" "$server" \
    > "$STATE/etc/containerd/certs.d/$host/hosts.toml"
done
start registry "$REPO/.cluster/image-build/registry" -listen "$REGISTRY" -auth-listen "$AUTH_REGISTRY" -auth "$AUTH_REGISTRY_CREDS"
start etcd etcd --name mirror --data-dir "$RUN/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster mirror=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381
start containerd /usr/bin/containerd --config "$STATE/etc/containerd.toml"
waitfor "etcd healthy" 60 curl -sf http://127.0.0.1:2379/health

start kube-apiserver kube-apiserver \
  --advertise-address="$NODE_IP" --bind-address="$NODE_IP" --secure-port=6443 \
  --etcd-servers=http://127.0.0.1:2379 --service-cluster-ip-range="$SVC_CIDR" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP,Hostname \
  --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --allow-privileged=true --profiling=false --v=1 \
  --audit-policy-file="$REPO/test/cluster/etc/audit-policy.yaml" --audit-log-path="$LOGS/audit.log" \
  --audit-log-maxsize=200 --audit-log-maxbackup=1

waitfor "containerd up" 60 ctr -a "$CONTAINERD_SOCK" version
waitfor "registry up" 30 curl -sf "http://$REGISTRY/v2/"
"$here/push-images.sh"
mark "images pushed to the registry"
waitfor "kube-apiserver ready" 120 $K get --raw /readyz

start kube-controller-manager kube-controller-manager \
  --kubeconfig="$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
  --use-service-account-credentials=true --service-cluster-ip-range="$SVC_CIDR" \
  --allocate-node-cidrs=false --v=1
start kube-scheduler kube-scheduler \
  --kubeconfig="$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/scheduler.kubeconfig" --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --v=1
start kubelet kubelet --config="$STATE/etc/kubelet.yaml" \
  --kubeconfig="$STATE/kubelet.kubeconfig" --root-dir="$RUN/kubelet" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
# iptables mode; conntrack sysctls left alone; NodePorts only on our node address.
start kube-proxy kube-proxy --kubeconfig="$STATE/kube-proxy.kubeconfig" \
  --hostname-override="$NODE_NAME" --proxy-mode=iptables --cluster-cidr="$POD_CIDR" \
  --nodeport-addresses="$NODE_IP/32" --healthz-bind-address=127.0.0.1:10256 --metrics-bind-address=127.0.0.1:10249 \
  --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0 --conntrack-tcp-timeout-close-wait=0 --v=1

waitfor "node Ready" 180 $K wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
# Pods are refused until the default ServiceAccount exists.
waitfor "default ServiceAccount" 120 $K -n default get serviceaccount default
$K apply -f "$here/manifests/coredns.yaml" >/dev/null
$K apply -f "$here/manifests/echo.yaml" >/dev/null
$K apply -f "$here/manifests/meshed.yaml" >/dev/null
waitfor "first echo pod Running" 120 sh -c "$K get pods -l app=echo -o jsonpath='{.items[*].status.phase}' | grep -q Running"
waitfor "CoreDNS Ready" 180 $K -n kube-system rollout status deploy/coredns --timeout=1s
waitfor "deploy/echo Ready" 180 $K rollout status deploy/echo --timeout=1s
waitfor "toolbox Ready" 120 $K wait --for=condition=Ready pod/toolbox --timeout=1s
for d in meshed meshed-nft meshed-linkerd; do
  waitfor "deploy/$d Ready" 180 $K rollout status "deploy/$d" --timeout=1s
done

mkdir -p "$(dirname "$KUBECONFIG_OUT")"
cp "$STATE/admin.kubeconfig" "$KUBECONFIG_OUT"
mark "cluster up: export KUBECONFIG=$KUBECONFIG_OUT"
