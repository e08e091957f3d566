#!/usr/bin/env bash
# Import the harness's image archives and the project's own (bin/images, made by
# `make agent-image`) into containerd's k8s.io namespace, where the kubelet looks.
set -euo pipefail
source "$(dirname "$0")/config.sh"
shopt -s nullglob
for t in "$REPO"/.cluster/images/*.tar "$REPO"/bin/images/*.tar; do
  ctr -a "$CONTAINERD_SOCK" -n k8s.io images import --all-platforms "$t" >/dev/null
done
