#!/usr/bin/env bash
# Build the test cluster's images from scratch as OCI archives in .cluster/images:
# pause (the sandbox), echo (the workload), busybox (a shell for client pods) and
# CoreDNS. No container engine: hack/ociimage writes the archives, and push-images.sh
# pushes them to the harness's registry, from which the kubelet pulls them.
set -euo pipefail
source "$(dirname "$0")/config.sh"
trap 'log "$(basename "$0"): failed at line $LINENO: $BASH_COMMAND"' ERR
out=$REPO/.cluster/images
work=$REPO/.cluster/image-build
mkdir -p "$out" "$work"
cd "$REPO"
export CGO_ENABLED=0
go build -trimpath -ldflags '-s -w' -o "$work/ociimage" ./hack/ociimage
go build -trimpath -ldflags '-s -w' -o "$work/pause" ./test/workloads/pause
go build -trimpath -ldflags '-s -w' -o "$work/echo" ./test/workloads/echo
go build -trimpath -ldflags '-s -w' -o "$work/registry" ./test/cluster/registry
go build -trimpath -ldflags '-s -w' -o "$work/meshproxy" ./test/workloads/meshproxy
oci=$work/ociimage
"$oci" -ref "$PAUSE_IMAGE" -o "$out/pause.tar" -entrypoint /pause -file "/pause=$work/pause" >/dev/null
# /data for the remote-files suite: a 1 MiB file with deterministic content, and
# symlinks that would lead out of the container's root if followed on the host.
(set +o pipefail; openssl enc -aes-128-ctr -nosalt -K 00112233445566778899aabbccddeeff -iv 0 </dev/zero 2>/dev/null | head -c 1048576 >"$work/blob")
"$oci" -ref mirror.test/echo:v1 -o "$out/echo.tar" -entrypoint /echo -file "/echo=$work/echo" -dir /tmp \
  -file "/data/blob=$work/blob" -symlink /data/host-shadow=/etc/shadow -symlink /data/dotdot-shadow=../../../../etc/shadow >/dev/null
# busybox: Debian's static build with one symlink per applet.
links=()
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || links+=(-symlink "/bin/$applet=busybox")
done
# busybox also carries the echo binary as a client (busybox nc has no UDP).
"$oci" -ref mirror.test/busybox:v1 -o "$out/busybox.tar" -entrypoint /bin/sh -file /bin/busybox=/bin/busybox \
  -file "/usr/local/bin/mirror-echo=$work/echo" -dir /tmp "${links[@]}" >/dev/null
"$oci" -ref "mirror.test/coredns:$COREDNS_VERSION" -o "$out/coredns.tar" -entrypoint /coredns -file "/coredns=$BIN/coredns" -dir /tmp >/dev/null
# The meshed pods' sidecar: a transparent proxy standing in for Envoy and linkerd2-proxy.
"$oci" -ref mirror.test/meshproxy:v1 -o "$out/meshproxy.tar" -entrypoint /meshproxy -file "/meshproxy=$work/meshproxy" >/dev/null
# The meshed pods' init container: Istio's own pilot-agent (its istio-iptables subcommand
# shells out to iptables or nft), with Debian's iptables (nft and legacy), nft, their
# libraries and the xtables extensions, copied from this machine.
mesh=(-file "/usr/local/bin/pilot-agent=$BIN/pilot-agent" -file /usr/sbin/xtables-nft-multi=/usr/sbin/xtables-nft-multi
      -file /usr/sbin/xtables-legacy-multi=/usr/sbin/xtables-legacy-multi -file /usr/sbin/nft=/usr/sbin/nft -dir /run -dir /tmp)
for t in iptables ip6tables; do
  for s in "" -save -restore; do
    mesh+=(-symlink "/usr/sbin/$t-nft$s=xtables-nft-multi" -symlink "/usr/sbin/$t-legacy$s=xtables-legacy-multi" -symlink "/usr/sbin/$t$s=xtables-nft-multi")
  done
done
for lib in $(ldd /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi /usr/sbin/nft | awk '$3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' | sort -u); do
  mesh+=(-file "$lib=$(readlink -f "$lib")")
done
for ext in /usr/lib/x86_64-linux-gnu/xtables/*.so; do mesh+=(-file "$ext=$ext"); done
"$oci" -ref mirror.test/mesh-init:v1 -o "$out/mesh-init.tar" "${mesh[@]}" >/dev/null
log "images built in $out"
