#!/usr/bin/env bash
# Record the host state the cluster changes (sysctls, iptables, links, absent
# directories) so down.sh can put it back exactly.
set -euo pipefail
source "$(dirname "$0")/config.sh"
b=$STATE/baseline
mkdir -p "$b"
sysctl net.ipv4.ip_forward net.ipv4.conf.all.forwarding net.ipv6.conf.all.forwarding \
  net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables \
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops \
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes > "$b/sysctl.txt" 2>/dev/null || true
iptables-save > "$b/iptables.txt" 2>/dev/null || true
ip6tables-save > "$b/ip6tables.txt" 2>/dev/null || true
: > "$b/absent-dirs.txt"
for d in /run/netns /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers /run/containerd /etc/netns; do
  [ -e "$d" ] || echo "$d" >> "$b/absent-dirs.txt"
done
