#!/usr/bin/env bash
# The main job on the local cluster: the built plugin, run the way a user runs it
# (through kubectl's plugin discovery), against deploy/echo.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
k=$repo/test/cluster/kubectl
echo "== kubectl mirror version"
"$k" mirror version
echo "== the target: deploy/echo"
"$k" get deploy/echo -o wide
"$k" get pods -l app=echo -o wide
echo "== kubectl mirror --help"
"$k" mirror --help | head -20
