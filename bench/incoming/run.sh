#!/usr/bin/env bash
# Incoming steal with an HTTP filter, side by side in one run, from a client
# in the pod network (the toolbox pod's network namespace, entered from this
# machine) to one echo pod: requests straight to the pod with no session;
# requests that do NOT match the filter while a session steals (they pass
# through the agent to the pod's app); and requests that match (they go pod
# -> agent -> port-forward -> the local program). Prints medians and ratios.
# Then the same under load: RATE requests/s (5,000) for SECS seconds (30) of
# traffic that does not match the filter, open loop on CONNS keep-alive
# connections, straight to the pod and through a filtered steal: p50, p90,
# p99 and the agents' CPU per 1,000 requests/s (from /proc/PID/stat of
# every agent process of the pod, so whichever routes the port is counted).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/test/cluster/config.sh"
export KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_OUT}
k=$repo/test/cluster/kubectl
rounds=${ROUNDS:-3} requests=${REQUESTS:-2000}
rate=${RATE:-5000} secs=${SECS:-30} conns=${CONNS:-32}
netload=$repo/bin/netload
CGO_ENABLED=0 go build -o "$netload" "$repo/bench/netload"
CGO_ENABLED=0 go build -o "$repo/bin/httpserve" "$repo/test/programs/httpserve"
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
field() { awk -v k="$1" '{for(i=1;i<NF;i++) if($i==k) print $(i+1)}'; }

pod=$("$k" get pods -l app=echo -o jsonpath='{.items[0].metadata.name}')
ip=$("$k" get pod "$pod" -o jsonpath='{.status.podIP}')
# The client enters the net namespace of the toolbox container's init process
# (its PID 1: the process of the container whose parent is outside it, the
# shim), which lives as long as the pod. Not just any process of the pod: the
# pod's loop runs short-lived `sleep`s, gone before nsenter opens their
# /proc/N/ns/net.
cid=$("$k" get pod toolbox -o jsonpath='{.status.containerStatuses[0].containerID}')
cid=${cid#*://}
[ -n "$cid" ] || { echo "the toolbox pod has no running container" >&2; exit 1; }
container_init() {
  local p ppid
  for p in /proc/[0-9]*; do
    grep -qs "$cid" "$p/cgroup" || continue
    ppid=$(awk '/^PPid:/{print $2}' "$p/status" 2>/dev/null) || continue
    [ -n "$ppid" ] || continue
    grep -qs "$cid" "/proc/$ppid/cgroup" && continue # a child of the container's init
    [ -r "$p/ns/net" ] && { echo "${p#/proc/}"; return; }
  done
}
client=
for _ in 1 2 3 4 5; do # the scan can race a process's exit: look again
  client=$(container_init)
  [ -n "$client" ] && break
  sleep 0.2
done
[ -n "$client" ] || { echo "no init process of the toolbox container $cid on this machine" >&2; exit 1; }
load() { env ${2:+NETLOAD_HEADER="$2"} nsenter -t "$client" -n "$netload" http "http://$ip:8080/$1" "$requests"; }

declare -a dr dl pr pl mr ml
rateload() { nsenter -t "$client" -n "$netload" rate "http://$ip:8080/$1" "$rate" "$secs" "$conns"; }
uid=$("$k" get pod "$pod" -o jsonpath='{.metadata.uid}')
# CPU seconds (user + system) of every agent process of the pod.
agents_cpu() {
  local p t=0
  for p in $(pgrep -f '^/mirror-agent' || true); do
    grep -qs "${uid//-/_}\|$uid" "/proc/$p/cgroup" || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t/hz}'
}
spid=
trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null || true' EXIT # no session outlives the script
session() {
  "$repo/test/cluster/laptop.sh" exec env KUBECONFIG="$KUBECONFIG" "$repo/bin/kubectl-mirror" run "pod/$pod" \
    --incoming steal --http-filter 'header:X-User: ^me$' -- "$repo/bin/httpserve" 8080 \
    >/dev/null 2>"$1" &
  echo $!
}
for _ in $(seq "$rounds"); do
  a=$(load direct "")
  dr+=("$(echo "$a" | field req)"); dl+=("$(echo "$a" | field p50)")
  log=$(mktemp)
  spid=$(session "$log")
  until grep -q "the pod's port" "$log"; do sleep 0.2; done
  b=$(load pass "")
  c=$(load mine "X-User: me")
  kill "$spid"; wait "$spid" 2>/dev/null || true; spid=; rm -f "$log"
  pr+=("$(echo "$b" | field req)"); pl+=("$(echo "$b" | field p50)")
  mr+=("$(echo "$c" | field req)"); ml+=("$(echo "$c" | field p50)")
  sleep 1 # the redirect is gone once the session has ended
done
D=$(printf '%s\n' "${dr[@]}" | median) DL=$(printf '%s\n' "${dl[@]}" | median)
P=$(printf '%s\n' "${pr[@]}" | median) PL=$(printf '%s\n' "${pl[@]}" | median)
M=$(printf '%s\n' "${mr[@]}" | median) ML=$(printf '%s\n' "${ml[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
echo "straight to the pod: $D req/s p50 $DL ms"
echo "not matching the filter (through the agent to the app): $P req/s p50 $PL ms; p50 $(ratio "$PL" "$DL")x (target <= 1.2x), throughput $(ratio "$P" "$D")x"
echo "matching the filter (to the local program through the port-forward): $M req/s p50 $ML ms; p50 $(ratio "$ML" "$DL")x; 1 pod served"

# Under load: straight to the pod, then through the filtered steal.
a=$(rateload direct)
log=$(mktemp)
spid=$(session "$log")
until grep -q "the pod's port" "$log"; do sleep 0.2; done
c0=$(agents_cpu) t0=$(date +%s.%N)
b=$(rateload pass)
c1=$(agents_cpu) t1=$(date +%s.%N)
kill "$spid"; wait "$spid" 2>/dev/null || true; spid=; rm -f "$log"
line() { echo "$1" | awk '{printf "%s req/s, p50 %s ms, p90 %s ms, p99 %s ms, %s failed", $4, $7, $10, $13, $16}'; }
echo "under load, $rate req/s asked for ${secs} s on $conns connections: straight to the pod $(line "$a")"
echo "$b" | awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v a="$a" '{
  split(a, A, " ")
  cpu = (c1 - c0) / (t1 - t0) # vCPU over the window
  printf "  not matching the filter, through the agent: %s req/s, p50 %s ms (%+.3f ms), p90 %s ms (%+.3f ms), p99 %s ms, %s failed; agent CPU %.2f vCPU = %.3f vCPU per 1,000 req/s (Envoy in an Istio sidecar: 0.35 vCPU per 1,000 req/s, ~1.3 ms p90 per proxy)\n",
    $4, $7, $7 - A[7], $10, $10 - A[10], $13, $16, cpu, cpu / ($4 / 1000)
}'
