#!/usr/bin/env bash
# The "laptop": a network namespace whose only route reaches the API server, so a
# program run there can talk to the cluster only through the Kubernetes API (and
# so through kubectl mirror's agent), never to a pod or Service address directly.
#
#   laptop.sh setup | teardown | exec CMD [ARGS...]
set -euo pipefail
source "$(dirname "$0")/config.sh"
case ${1:-} in
setup)
  ip netns list | grep -qw "$LAPTOP_NS" && exit 0
  ip netns add "$LAPTOP_NS"
  ip link add "$LAPTOP_HOST_IF" type veth peer name "$LAPTOP_NS_IF" netns "$LAPTOP_NS"
  ip addr add "$LAPTOP_HOST_IP/30" dev "$LAPTOP_HOST_IF"
  ip link set "$LAPTOP_HOST_IF" up
  ip -n "$LAPTOP_NS" addr add "$LAPTOP_NS_IP/30" dev "$LAPTOP_NS_IF"
  ip -n "$LAPTOP_NS" link set "$LAPTOP_NS_IF" up
  ip -n "$LAPTOP_NS" link set lo up
  # One host route: the API server's address. No default route, so pod and Service
  # addresses are unreachable (ENETUNREACH) from here.
  ip -n "$LAPTOP_NS" route add "$NODE_IP/32" via "$LAPTOP_HOST_IP"
  ;;
teardown)
  ip netns list | grep -qw "$LAPTOP_NS" && ip netns delete "$LAPTOP_NS"
  ip link del "$LAPTOP_HOST_IF" 2>/dev/null || true
  ;;
exec)
  shift
  exec ip netns exec "$LAPTOP_NS" "$@"
  ;;
*)
  echo "usage: $0 setup | teardown | exec CMD [ARGS...]" >&2
  exit 2
  ;;
esac
