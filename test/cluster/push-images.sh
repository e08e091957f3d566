#!/usr/bin/env bash
# Push the harness's image archives and the project's own (bin/images, made by
# `make agent-image`) to the harness's registry, each under its own repository and
# tag (mirror.test/echo:v1 -> $REGISTRY/echo:v1), where the kubelet pulls them from.
set -euo pipefail
source "$(dirname "$0")/config.sh"
shopt -s nullglob
oci=$REPO/.cluster/image-build/ociimage
for t in "$REPO"/.cluster/images/*.tar "$REPO"/bin/images/*.tar; do
  "$oci" -load "$t" -mirror-to "$REGISTRY" >/dev/null
done
