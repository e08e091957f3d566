#!/usr/bin/env bash
# `make test-compat`: the smoke set of the end-to-end suite on another Kubernetes
# version than `make test`'s (K8S_VERSION, v1.32.2 by default: the oldest we
# support), one capability at a time, ending with a table of what passed. Any
# cluster that is up is stopped first (one cluster per machine), and the one this
# starts is stopped at the end. The table is also written to .cluster/compat-VERSION.md.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
version=${K8S_VERSION:-v1.32.2}
cd "$repo"
capabilities=(
  "outgoing and DNS|TestOutgoingHTTPLeavesFromThePod"
  "env|TestRunSeesThePodsEnvironment"
  "files|TestPodFilesAtTheirPaths"
  "filtered steal through a Service|TestFilteredStealCoversEveryReplica"
  "targetless run|TestTargetlessRunUsesAnAgentPod"
  "debugger run|TestDlvExecDebugsAProgramInThePodsWorld"
  "meshed pods (Istio iptables and nftables, Linkerd rules)|TestMeshedPods"
  "admission refusals (policy, Pod Security, quota)|TestAdmissionPolicyRefusingTheAgentIsOneLine|TestPodSecurityBaselineRefusesIncomingOnly|TestTargetlessRunOverQuotaIsOneLine"
  "host-network pods, native sidecars|TestHostNetworkPodIncomingNeedsItsFlag|TestNativeSidecarIsNotTheDefault"
)
test/cluster/down.sh
K8S_VERSION=$version test/cluster/up.sh
export KUBECONFIG=$repo/.cluster/kubeconfig MIRROR_REPO=$repo
server=$(test/cluster/kubectl version -o json | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)
table=".cluster/compat-$version.md"
{
  echo "| capability | Kubernetes $server, $(date -u +%Y-%m-%d) |"
  echo "|---|---|"
} >"$table"
failed=0
for c in "${capabilities[@]}"; do
  name=${c%%|*} tests=${c#*|}
  log=.cluster/compat-$version-${tests%%|*}.log
  # -v and one PASS line per test named: a name that matches no test must not read as passed.
  want=$(tr '|' '\n' <<<"$tests" | wc -l)
  if go test -count=1 -v -tags e2e -timeout 15m -run "^(${tests})\$" ./test/e2e/ >"$log" 2>&1 &&
    [ "$(grep -c '^--- PASS' "$log")" -eq "$want" ]; then
    echo "| $name | passed |" >>"$table"
  else
    echo "| $name | FAILED (see $log) |" >>"$table"
    failed=1
  fi
done
test/cluster/down.sh
cat "$table"
exit $failed
