#!/usr/bin/env bash
# Stop every process up.sh started and put the host back as record-baseline.sh
# found it: no processes, mounts, network namespaces, links, iptables chains,
# cgroups or changed sysctls left; the runtime state directory is removed.
set -uo pipefail
source "$(dirname "$0")/config.sh"
[ -d "$STATE" ] || { log "no cluster state at $STATE: nothing to stop"; exit 0; }
stop_pid() { # stop_pid NAME: TERM, wait up to 10 s, then KILL
  local f=$RUN/pids/$1.pid
  [ -f "$f" ] || return 0
  local p; p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p"
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && { log "kill -9 $1 ($p)"; kill -KILL "$p"; }
  fi
  rm -f "$f"
}
"$(dirname "$0")/laptop.sh" teardown
stop_pid kube-proxy; stop_pid kube-scheduler; stop_pid kube-controller-manager; stop_pid kubelet
# Remove pod sandboxes through CRI so CNI DEL runs: veths, IP leases, netns files go.
[ -S "$CONTAINERD_SOCK" ] && { timeout 120 crictl-lite -r "unix://$CONTAINERD_SOCK" remove-all-pods >"$LOGS/remove-pods.log" 2>&1 || log "removing pod sandboxes: $(tail -1 "$LOGS/remove-pods.log")"; }
stop_pid containerd
stop_pid kube-apiserver; stop_pid etcd; stop_pid registry
# Shims outlive containerd; ours carry our socket path in their arguments.
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do kill -KILL "$p" 2>/dev/null; done
# unmount_ours: mounts under our state dir and CNI's netns files, deepest first.
# Repeated because a bind mount of /run/netns (made by `ip netns add`) can hide
# earlier netns mounts beneath it until it is itself unmounted.
unmount_ours() {
  for _ in 1 2 3 4 5; do
    local ms
    ms=$(awk '{print $2}' /proc/mounts | grep -E "^$STATE/|^/run/netns/cni-" | sort -r)
    [ -n "$ms" ] || return 0
    for m in $ms; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  done
}
unmount_ours
# Directories components create outside our state dir (hardcoded paths), if absent at baseline.
while read -r d; do
  [ -n "$d" ] || continue
  while mountpoint -q "$d" 2>/dev/null; do umount "$d" || break; done
  unmount_ours
  rm -rf "$d"
done < "$STATE/baseline/absent-dirs.txt"
unmount_ours
rm -f /run/netns/cni-* 2>/dev/null
for l in cni0 "$NODE_IF" $(ip -o link show type veth 2>/dev/null | awk -F'[ :@]+' '/master cni0/{print $2}'); do
  ip link del "$l" 2>/dev/null
done
# iptables: kube-proxy's own cleanup, then any KUBE-*/CNI-* chain left.
[ -x "$BIN/kube-proxy" ] && "$BIN/kube-proxy" --cleanup --proxy-mode=iptables >/dev/null 2>&1
for ipt in iptables ip6tables; do
  for t in filter nat mangle raw; do
    $ipt -t $t -S 2>/dev/null | grep -E '^-A .*(KUBE-|CNI-)' | sed 's/^-A /-D /' | while read -r r; do eval "$ipt -t $t $r" 2>/dev/null; done
    for c in $($ipt -t $t -S 2>/dev/null | awk '/^-N (KUBE-|CNI-)/{print $2}'); do $ipt -t $t -F "$c" 2>/dev/null; done
    for c in $($ipt -t $t -S 2>/dev/null | awk '/^-N (KUBE-|CNI-)/{print $2}'); do $ipt -t $t -X "$c" 2>/dev/null; done
  done
done
# iptables-nft registered empty built-in tables; drop those the baseline did not have.
if command -v nft >/dev/null; then
  for fam in ip ip6; do
    ipt=iptables; base=$STATE/baseline/iptables.txt
    [ $fam = ip6 ] && { ipt=ip6tables; base=$STATE/baseline/ip6tables.txt; }
    for t in filter nat mangle raw security; do
      nft list table $fam $t >/dev/null 2>&1 || continue
      grep -q "^\*$t\$" "$base" 2>/dev/null && continue
      [ -z "$($ipt -t $t -S 2>/dev/null | grep -v '^-P')" ] && nft delete table $fam $t
    done
  done
fi
# Sysctls back to the recorded values.
while read -r k _ v; do sysctl -qw "$k=$v" 2>/dev/null; done < "$STATE/baseline/sysctl.txt"
while read -r k _ v; do
  now=$(sysctl -n "$k" 2>/dev/null)
  [ "$now" = "$v" ] || log "sysctl $k is $now, was $v before the cluster"
done < "$STATE/baseline/sysctl.txt"
# cgroups the kubelet and runc made (cgroupfs driver), depth first.
for h in /sys/fs/cgroup/*/; do
  for g in kubepods k8s.io; do [ -d "$h$g" ] && find "$h$g" -depth -type d -exec rmdir {} \; 2>/dev/null; done
done
# Never delete through a mount that would not go away.
if grep -q " $STATE" /proc/mounts; then
  log "mounts under $STATE remain; left it in place: $(grep -c " $STATE" /proc/mounts)"
  exit 1
fi
rm -rf "$STATE" "$REPO/.cluster/kubeconfig"
log "cluster down"
