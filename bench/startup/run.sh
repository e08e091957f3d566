#!/usr/bin/env bash
# Time from `kubectl mirror run` to the program's first line, with a fresh
# agent (image present on the node) and with a reused one, side by side with
# `kubectl debug --image=<the agent image>` until its container is Running,
# against fresh pods of the local test cluster. Prints medians and ratios.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
k=$repo/test/cluster/kubectl
plugin=$repo/bin/kubectl-mirror
export KUBECONFIG=${KUBECONFIG:-$repo/.cluster/kubeconfig}
image=$("$plugin" version -o json | sed -n 's/.*"agentImage": "\(.*\)".*/\1/p')
rounds=${ROUNDS:-3}
now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

new_pod() { # a fresh pod with no agent in it
  local name=bench-$RANDOM$RANDOM
  "$k" run "$name" --image=mirror.test/busybox:v1 --image-pull-policy=IfNotPresent --restart=Never \
    --command -- sh -c "trap 'exit 0' TERM; while true; do sleep 1; done" >/dev/null
  "$k" wait --for=condition=Ready "pod/$name" --timeout=60s >/dev/null
  echo "$name"
}

fresh=() reuse=() debug=()
for _ in $(seq "$rounds"); do
  p=$(new_pod)
  t0=$(now)
  "$plugin" run "pod/$p" -- echo first-line 2>/dev/null | head -1 >/dev/null
  t1=$(now)
  "$plugin" run "pod/$p" -- echo first-line 2>/dev/null | head -1 >/dev/null
  t2=$(now)
  fresh+=("$(ms "$t0" "$t1")") reuse+=("$(ms "$t1" "$t2")")
  q=$(new_pod)
  t0=$(now)
  "$k" debug "pod/$q" --image="$image" --image-pull-policy=IfNotPresent --target="$q" -c dbg \
    -- /mirror-agent --listen=127.0.0.1:47999 --idle-timeout=30s \
    --authorized-key=ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA >/dev/null 2>&1
  "$k" wait "pod/$q" --timeout=60s \
    --for='jsonpath={.status.ephemeralContainerStatuses[?(@.name=="dbg")].state.running.startedAt}' >/dev/null 2>&1 || true
  until [ -n "$("$k" get pod "$q" -o jsonpath='{.status.ephemeralContainerStatuses[?(@.name=="dbg")].state.running}')" ]; do sleep 0.05; done
  t1=$(now)
  debug+=("$(ms "$t0" "$t1")")
  "$k" delete pod "$p" "$q" --wait=false >/dev/null
done
f=$(printf '%s\n' "${fresh[@]}" | median)
r=$(printf '%s\n' "${reuse[@]}" | median)
d=$(printf '%s\n' "${debug[@]}" | median)
echo "kubectl mirror run to first line, reused agent: ${r} ms (target < 1000 ms) [runs: ${reuse[*]}]"
echo "kubectl mirror run to first line, fresh agent: ${f} ms; kubectl debug until Running: ${d} ms; ratio $(awk -v a="$f" -v b="$d" 'BEGIN{printf "%.2f", a/b}')x (target <= 1.2x) [runs: ${fresh[*]} vs ${debug[*]}]"
