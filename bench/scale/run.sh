#!/usr/bin/env bash
# A team on one API server: N sessions (default 100; half targetless, half on
# deploy/echo with --incoming mirror) started from the laptop namespace as one
# ServiceAccount, then a steady window of W seconds (default 120) in which
# the API server's audit log (test/cluster/etc/audit-policy.yaml keeps that
# account's requests alone) counts their requests. Prints API requests per
# session-minute (port-forwards apart), the API server's CPU and memory, the
# agents' and the plugins' memory, beside the same run with 1 session.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/test/cluster/config.sh"
k=$repo/test/cluster/kubectl
plugin=$repo/bin/kubectl-mirror
export KUBECONFIG=${KUBECONFIG:-$repo/.cluster/kubeconfig}
sessions=${SESSIONS:-100}
window=${WINDOW:-120}
audit=$LOGS/audit.log
[ -f "$audit" ] || { echo "bench/scale: no audit log at $audit: the cluster predates its audit policy; run make cluster-down cluster-up" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# One ServiceAccount, the Role users get (deploy/rbac.yaml) and what a
# targetless run adds (a Job for its agent), and a kubeconfig with its token.
"$k" create namespace mirror-scale --dry-run=client -o yaml | "$k" apply -f - >/dev/null
"$k" -n mirror-scale create serviceaccount bench --dry-run=client -o yaml | "$k" apply -f - >/dev/null
"$k" -n default apply -f "$repo/deploy/rbac.yaml" >/dev/null
"$k" -n default create role mirror-scale-targetless --verb=create,get,list,delete --resource=jobs.batch --dry-run=client -o yaml | "$k" apply -f - >/dev/null
for role in kubectl-mirror-user mirror-scale-targetless; do
  "$k" -n default create rolebinding "scale-$role" --role="$role" --serviceaccount=mirror-scale:bench --dry-run=client -o yaml | "$k" apply -f - >/dev/null
done
kc=$work/kubeconfig
server=$("$k" config view --raw --minify -o jsonpath='{.clusters[0].cluster.server}')
"$k" config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > "$work/ca.crt"
token=$("$k" -n mirror-scale create token bench --duration=2h)
KUBECONFIG=$kc "$k" config set-cluster c --server="$server" --certificate-authority="$work/ca.crt" --embed-certs >/dev/null
KUBECONFIG=$kc "$k" config set-credentials bench --token="$token" >/dev/null
KUBECONFIG=$kc "$k" config set-context c --cluster=c --user=bench --namespace=default >/dev/null
KUBECONFIG=$kc "$k" config use-context c >/dev/null

apiserver=$(cat "$RUN/pids/kube-apiserver.pid")
ticks=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
sum_rss() { local t=0; for p in "$@"; do t=$((t + $(rss_kib "$p"))); done; echo "$t"; }
# requests of the account received between two RFC 3339 times, port-forwards apart
count_requests() {
  python3 - "$audit" "$1" "$2" <<'EOF'
import json, sys
path, start, end = sys.argv[1:]
seen = set()
for line in open(path):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    t = e.get("requestReceivedTimestamp", "")
    r = e.get("objectRef", {})
    if start <= t < end and r.get("subresource") != "portforward":
        seen.add(e["auditID"])
print(len(seen))
EOF
}

# measure N: start N sessions, wait until each runs its program, then a window.
measure() {
  local n=$1 i
  pids=()
  for i in $(seq "$n"); do
    local args=(run -- sleep 3600)
    [ $((i % 2)) -eq 0 ] && args=(run deploy/echo --incoming mirror -- sleep 3600)
    KUBECONFIG=$kc "$repo/test/cluster/laptop.sh" exec "$plugin" "${args[@]}" >"$work/s$i.log" 2>&1 &
    pids+=($!)
    sleep 0.2
  done
  # Up: each plugin has its program (sleep) running under it.
  local deadline=$((SECONDS + 300)) up=0
  until [ "$up" -eq "$n" ]; do
    up=0
    for p in "${pids[@]}"; do
      if pgrep -x sleep -P "$p" >/dev/null; then up=$((up + 1)); fi
    done
    [ $SECONDS -ge $deadline ] && { echo "bench/scale: $up of $n sessions came up in 300 s (logs: ${work}/s*.log)" >&2; tail -3 "$work"/s*.log >&2; exit 1; }
    sleep 1
  done
  sleep 10 # the last starts settle
  local t0 c0 t1 c1 reqs rss agents
  t0=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ); c0=$(cpu_ticks "$apiserver")
  sleep "$window"
  t1=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ); c1=$(cpu_ticks "$apiserver")
  sleep 2 # the audit log's last lines
  reqs=$(count_requests "$t0" "$t1")
  rss=$(rss_kib "$apiserver")
  agents=$(sum_rss $(pgrep -x mirror-agent || true))
  local nagents; nagents=$(pgrep -x mirror-agent | wc -l)
  local prss; prss=$(sum_rss "${pids[@]}")
  awk -v n="$n" -v r="$reqs" -v w="$window" -v c=$((c1 - c0)) -v hz="$ticks" -v rss="$rss" -v ag="$agents" -v na="$nagents" -v pr="$prss" 'BEGIN {
    printf "%d session(s): %.2f API requests per session-minute (%d in %d s, port-forwards apart); API server %.1f%% of a CPU, %d MiB; agents %d MiB (%d processes); plugins %.0f MiB each\n",
      n, r / n / (w / 60), r, w, 100 * c / hz / w, rss / 1024, ag / 1024, na, pr / 1024 / n }'
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

echo "bench/scale: ${sessions} sessions (half targetless, half deploy/echo --incoming mirror) vs 1, a ${window} s steady window each"
measure 1
measure "$sessions"
echo "target: <= 2 API requests per session-minute beyond the port-forward"
