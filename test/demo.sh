#!/usr/bin/env bash
# The main job on the local cluster: the built plugin, run the way a user runs it
# (through kubectl's plugin discovery), against deploy/echo.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
k=$repo/test/cluster/kubectl
echo "== kubectl mirror version"
"$k" mirror version
export KUBECONFIG=${KUBECONFIG:-$repo/.cluster/kubeconfig}
lap() { "$repo/test/cluster/laptop.sh" exec env KUBECONFIG="$KUBECONFIG" PATH="$repo/bin:$PATH" "$@"; }
echo "== kubectl mirror ls: what can be a target, and the agents living there"
lap kubectl-mirror ls
echo
echo "== the main job, from the laptop namespace (no route to any pod or Service):"
echo "   cd test/demo/app && kubectl mirror run -- go run .   (target and settings from .kubectl-mirror.yaml)"
(cd "$repo/test/demo/app" && lap kubectl-mirror run -- go run .)
echo
echo "== steal only alice's requests: hers are answered by this machine, everyone else's by the pod"
echo "   kubectl mirror run deploy/echo --incoming steal --http-filter 'header:x-user: ^alice\$' -- go run ./test/programs/httpserve 8080"
log=$(mktemp)
cd "$repo"
# Not through lap: $! must be the plugin itself (laptop.sh, ip and env exec it).
"$repo/test/cluster/laptop.sh" exec env KUBECONFIG="$KUBECONFIG" PATH="$repo/bin:$PATH" \
  kubectl-mirror run deploy/echo --incoming steal \
  --http-filter 'header:x-user: ^alice$' -- go run ./test/programs/httpserve 8080 >"$log" 2>&1 &
plugin=$!
trap 'kill -TERM $plugin 2>/dev/null || true; wait $plugin 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 60); do
  "$k" exec toolbox -- timeout 2 wget -qO- --header 'x-user: alice' http://echo/ 2>/dev/null | grep -q '"local":true' && break
  sleep 0.5
done
echo "-- from a pod in the cluster, as alice:"
"$k" exec toolbox -- timeout 5 wget -qO- --header 'x-user: alice' http://echo/as-alice
echo "-- as bob:"
"$k" exec toolbox -- timeout 5 wget -qO- --header 'x-user: bob' http://echo/as-bob | cut -c1-120
echo
kill -TERM $plugin; wait $plugin || true
echo "-- the session's own output:"
cat "$log"
