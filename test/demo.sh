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
echo "== kubectl mirror run, from the laptop namespace: a local shell with the pod's environment"
lap() { "$repo/test/cluster/laptop.sh" exec env KUBECONFIG="$KUBECONFIG" PATH="$repo/bin:$PATH" "$@"; }
export KUBECONFIG=${KUBECONFIG:-$repo/.cluster/kubeconfig}
lap kubectl-mirror run deploy/echo --agent-image-pull-policy=Never -- \
  sh -c 'echo "LITERAL=$LITERAL FROM_CONFIGMAP=$FROM_CONFIGMAP POD_NAME=$POD_NAME (local HOME=$HOME)"'
echo "== outgoing traffic and DNS through the pod: curl http://echo/ from the laptop, which has no route to it"
lap kubectl-mirror run deploy/echo --agent-image-pull-policy=Never -- curl -sS --max-time 10 http://echo/from-the-laptop
echo "== the pod's mounted ConfigMap, Secret and service-account token, at their paths"
lap kubectl-mirror run deploy/echo --agent-image-pull-policy=Never -- \
  sh -c 'cat /etc/echo/config/app.conf; ls /var/run/secrets/kubernetes.io/serviceaccount'
echo "== a second run reuses the agent"
time lap kubectl-mirror run deploy/echo --agent-image-pull-policy=Never -- sh -c 'exit 3' || echo "exit code $?"
echo "== kubectl mirror trace, from the laptop namespace (no route to the cluster's pods or Services)"
svc=$("$k" get svc echo -o jsonpath='{.spec.clusterIP}')
lap kubectl-mirror trace -- \
  sh -c "cat /etc/hostname >/dev/null; curl -s --max-time 2 http://$svc/ || echo 'curl: no route from the laptop (kubectl mirror run will carry this through the pod)'" || true
