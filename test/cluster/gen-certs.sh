#!/usr/bin/env bash
# Generate the cluster CA, component certificates, service-account keys and the
# component kubeconfigs under $PKI and $STATE. Idempotent: existing files are kept.
set -euo pipefail
source "$(dirname "$0")/config.sh"
mkdir -p "$PKI" && cd "$PKI"
newkey() { openssl genrsa -out "$1" 2048 2>/dev/null; }
[ -f ca.key ] || { newkey ca.key; openssl req -x509 -new -nodes -key ca.key -subj "/CN=mirror-test-ca" -days 3650 -out ca.crt; }
[ -f sa.key ] || { newkey sa.key; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }
[ -f front-proxy-ca.key ] || { newkey front-proxy-ca.key; openssl req -x509 -new -nodes -key front-proxy-ca.key -subj "/CN=mirror-front-proxy-ca" -days 3650 -out front-proxy-ca.crt; }

# cert NAME CN ORG SAN [CA]: a server+client cert when SAN is set, else a client cert.
cert() {
  local name=$1 cn=$2 org=$3 san=$4 ca=${5:-ca}
  [ -f "$name.crt" ] && return 0
  newkey "$name.key"
  local subj="/CN=$cn"; [ -n "$org" ] && subj="/O=$org/CN=$cn"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$san" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$san"
    else echo "extendedKeyUsage=clientAuth"; fi
  } > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 3650 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}
svc_names="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN"
cert apiserver kube-apiserver "" "$svc_names,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$KUBERNETES_SVC_IP,IP:$NODE_IP"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters ""
cert admin kubernetes-admin system:masters ""
cert controller-manager system:kube-controller-manager "" ""
cert scheduler system:kube-scheduler "" ""
cert kube-proxy system:kube-proxy "" ""
cert kubelet-client "system:node:$NODE_NAME" system:nodes ""
cert kubelet-serving "$NODE_NAME" "" "DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1"
cert front-proxy-client front-proxy-client "" "" front-proxy-ca

# kubeconfig NAME CERT: an embedded-cert kubeconfig at $STATE/NAME.kubeconfig.
kubeconfig() {
  local f=$STATE/$1.kubeconfig
  [ -f "$f" ] && return 0
  kubectl config set-cluster mirror-test --certificate-authority="$PKI/ca.crt" --embed-certs=true --server="$APISERVER" --kubeconfig="$f" >/dev/null
  kubectl config set-credentials "$1" --client-certificate="$PKI/$2.crt" --client-key="$PKI/$2.key" --embed-certs=true --kubeconfig="$f" >/dev/null
  kubectl config set-context mirror-test --cluster=mirror-test --user="$1" --kubeconfig="$f" >/dev/null
  kubectl config use-context mirror-test --kubeconfig="$f" >/dev/null
}
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kube-proxy kube-proxy
kubeconfig kubelet kubelet-client
