#!/usr/bin/env bash
# Traffic through `kubectl mirror run` vs plain `kubectl port-forward` to the
# same pod, side by side, from the laptop namespace of the local test cluster:
# HTTP keep-alive req/s and latency, a bulk transfer, and the RSS of the
# plugin and the agent holding 1,000 concurrent connections.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/test/cluster/config.sh"
export KUBECONFIG=${KUBECONFIG:-$KUBECONFIG_OUT}
k=$repo/test/cluster/kubectl
rounds=${ROUNDS:-5} requests=${REQUESTS:-2000} mib=${MIB:-1024} conns=${CONNS:-1000}
netload=$repo/bin/netload
CGO_ENABLED=0 go build -o "$netload" "$repo/bench/netload"
lap() { "$repo/test/cluster/laptop.sh" exec env KUBECONFIG="$KUBECONFIG" PATH="$repo/bin:$BIN:$PATH" "$@"; }
mirror() { lap kubectl-mirror run "pod/$pod" -- "$@" 2>/dev/null; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
field() { awk -v k="$1" '{for(i=1;i<NF;i++) if($i==k) print $(i+1)}'; }

pod=$("$k" get pods -l app=echo -o jsonpath='{.items[0].metadata.name}')
ip=$("$k" get pod "$pod" -o jsonpath='{.status.podIP}')
# Not through lap(): $! must be kubectl itself (laptop.sh, ip netns and env all exec).
"$repo/test/cluster/laptop.sh" exec env KUBECONFIG="$KUBECONFIG" "$BIN/kubectl" port-forward "pod/$pod" 18080:8080 19002:9002 >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null || true' EXIT
until lap curl -sf -o /dev/null http://127.0.0.1:18080/; do sleep 0.2; done
mirror true # start (or reuse) the agent before measuring

declare -a pfr mr pfl ml pf9 m9
for _ in $(seq "$rounds"); do
  a=$(lap "$netload" http http://127.0.0.1:18080/ "$requests")
  b=$(mirror "$netload" http "http://$ip:8080/" "$requests")
  pfr+=("$(echo "$a" | field req)"); pfl+=("$(echo "$a" | field p50)"); pf9+=("$(echo "$a" | field p99)")
  mr+=("$(echo "$b" | field req)"); ml+=("$(echo "$b" | field p50)"); m9+=("$(echo "$b" | field p99)")
done
P=$(printf '%s\n' "${pfr[@]}" | median) M=$(printf '%s\n' "${mr[@]}" | median)
PL=$(printf '%s\n' "${pfl[@]}" | median) ML=$(printf '%s\n' "${ml[@]}" | median)
P9=$(printf '%s\n' "${pf9[@]}" | median) M9=$(printf '%s\n' "${m9[@]}" | median)
echo "HTTP keep-alive, $requests requests: port-forward $P req/s p50 $PL ms; mirror $M req/s p50 $ML ms; throughput $(awk -v a="$M" -v b="$P" 'BEGIN{printf "%.2f", a/b}')x (target >= 0.95x), p50 $(awk -v a="$ML" -v b="$PL" 'BEGIN{printf "%.2f", a/b}')x (target <= 1.05x); p99 port-forward $P9 ms, mirror $M9 ms ($(awk -v a="$M9" -v b="$P9" 'BEGIN{printf "%.2f", a/b}')x)"

# Bulk alternates too: one transfer each swung 0.64-0.97x on this shared machine.
declare -a pfb mb
for _ in $(seq "${BULK_ROUNDS:-3}"); do
  pfb+=("$(lap "$netload" bulk 127.0.0.1:19002 "$mib" | field MiB)")
  mb+=("$(mirror "$netload" bulk "$ip:9002" "$mib" | field MiB)")
done
a=$(printf '%s\n' "${pfb[@]}" | median) b=$(printf '%s\n' "${mb[@]}" | median)
echo "bulk $mib MiB, median of ${BULK_ROUNDS:-3}: port-forward $a MiB/s; mirror $b MiB/s; ratio $(awk -v a="$b" -v b="$a" 'BEGIN{printf "%.2f", a/b}')x (target >= 0.9x); each: port-forward ${pfb[*]}, mirror ${mb[*]}"

# RSS while $conns connections are held open.
out=$(mktemp)
"$repo/test/cluster/laptop.sh" exec env KUBECONFIG="$KUBECONFIG" "$repo/bin/kubectl-mirror" run "pod/$pod" \
  -- "$netload" hold "$ip:9000" "$conns" 5 >"$out" 2>/dev/null &
run=$!
until grep -q holding "$out" 2>/dev/null; do sleep 0.2; done
uid=$("$k" get pod "$pod" -o jsonpath='{.metadata.uid}')
rss() { awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
# Other sessions' agents may share the pod: the one holding the connections is the largest.
arss="?"
for p in $(pgrep -f '^/mirror-agent'); do
  grep -q "${uid//-/_}\|$uid" "/proc/$p/cgroup" 2>/dev/null || continue
  r=$(rss "$p")
  if [ "$arss" = "?" ] || awk -v a="$r" -v b="$arss" 'BEGIN{exit !(a > b)}'; then arss=$r; fi
done
prss=$(rss "$run")
wait $run || true
echo "$(grep holding "$out"), $(grep completed "$out" | sed 's/hold //'): plugin RSS $prss MiB (target < 150), agent RSS $arss MiB (target < 50)"
rm -f "$out"
