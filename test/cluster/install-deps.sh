#!/usr/bin/env bash
# Install the Debian packages the cluster and the tests need, only when missing.
set -euo pipefail
pkgs=(containerd runc containernetworking-plugins iptables nftables conntrack socat
      busybox-static iproute2 curl openssl ca-certificates musl-tools strace bsdutils gdb podman)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[cluster] installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
