#!/usr/bin/env bash
# After down.sh: fail if anything the cluster made is still on the host.
set -uo pipefail
source "$(dirname "$0")/config.sh"
bad=0
fail() { echo "[check-clean] left behind: $*" >&2; bad=1; }
for exe in /proc/[0-9]*/exe; do
  target=$(readlink "$exe" 2>/dev/null) || continue
  case $target in "$BIN"/*) fail "process ${exe#/proc/} running $target" ;; esac
done
for p in $(pgrep -f "containerd.*$STATE" || true); do fail "process $p: $(tr '\0' ' ' < /proc/$p/cmdline)"; done
mounts=$(grep -E " ($STATE|/run/netns/cni-)" /proc/mounts)
[ -n "$mounts" ] && fail "mounts: $mounts"
for l in cni0 "$NODE_IF" "$LAPTOP_HOST_IF"; do ip link show "$l" >/dev/null 2>&1 && fail "link $l"; done
ip -o link show type veth 2>/dev/null | grep -q 'master cni0' && fail "pod veths"
ip netns list 2>/dev/null | grep -qw "$LAPTOP_NS" && fail "netns $LAPTOP_NS"
for ipt in iptables ip6tables; do
  for t in filter nat mangle raw; do
    $ipt -t $t -S 2>/dev/null | grep -qE '(KUBE-|CNI-)' && fail "$ipt -t $t chains"
  done
done
[ -e "$STATE" ] && fail "state dir $STATE"
[ -d /sys/fs/cgroup/memory/kubepods ] && fail "cgroup kubepods"
[ $bad = 0 ] && echo "[check-clean] host is clean" >&2
exit $bad
