#!/usr/bin/env bash
# check.sh MANIFEST ARCHIVE_DIR: krew's own validator accepts the rendered
# manifest (structure, platforms; its install step would download the release,
# so it is skipped), then `kubectl krew install --manifest --archive` installs
# each platform's archive into a throwaway KREW_ROOT (the sha256 in the manifest
# must match, and LICENSE must come along), and on this machine's platform the
# installed `kubectl mirror version` names the version the agent image tag
# carries. Offline: no index, no download.
set -euo pipefail
manifest=$(realpath "$1") archives=$(realpath "$2")
repo=$(cd "$(dirname "$0")/../.." && pwd)
source "$repo/test/cluster/config.sh"
tools=$repo/bin/tools
if [ ! -x "$tools/krew" ] || [ ! -x "$tools/validate-krew-manifest" ]; then
  mkdir -p "$tools"
  (cd "$repo/test/krew" && go build -o "$tools/" sigs.k8s.io/krew/cmd/krew sigs.k8s.io/krew/cmd/validate-krew-manifest)
fi
"$repo/test/cluster/build-binaries.sh" # kubectl, built with the test cluster
"$tools/validate-krew-manifest" -manifest "$manifest" -skip-install

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$tools/krew" "$work/bin/kubectl-krew"
ln -s "$BIN/kubectl" "$work/bin/kubectl"
export PATH=$work/krew/bin:$work/bin:/usr/bin:/bin
version=$(awk -F'"' '/^  version:/{print $2}' "$manifest")
for arch in amd64 arm64; do
  root=$work/krew-$arch
  KREW_ROOT=$root KREW_OS=linux KREW_ARCH=$arch kubectl krew install --manifest="$manifest" \
    --archive="$archives/kubectl-mirror_${version}_linux_$arch.tar.gz" 2>&1 | sed "s/^/[krew $arch] /"
  [ -e "$(ls -d "$root"/store/mirror/*/LICENSE)" ] || { echo "krew-check: LICENSE not installed for $arch" >&2; exit 1; }
done
export KREW_ROOT=$work/krew-amd64 PATH=$work/krew-amd64/bin:$PATH
out=$(kubectl mirror version)
echo "$out"
# Completion through kubectl itself, as the caveats say to set it up.
ln -s "$(ls -d "$KREW_ROOT"/store/mirror/*/)kubectl_complete-mirror" "$KREW_ROOT/bin/"
comps=$(kubectl __complete mirror run deploy 2>/dev/null)
echo "$comps" | grep -qx deployment || { echo "krew-check: kubectl __complete mirror run deploy gave: $comps" >&2; exit 1; }
version=$(echo "$out" | awk '/^kubectl-mirror /{print $2}')
tag=$(echo "$out" | awk '/^agent image: /{print $3}'); tag=${tag##*:}
if [ -z "$version" ] || [ "$version" != "$tag" ] || ! grep -q "version: \"$version\"" "$manifest"; then
  echo "krew-check: installed plugin says version '$version', agent image tag '$tag'; manifest:" >&2
  grep version: "$manifest" >&2
  exit 1
fi
# krew refuses to uninstall without a local index; an empty one is enough offline.
mkdir -p "$KREW_ROOT/index/default/plugins" && git -C "$KREW_ROOT/index/default" init -q
kubectl krew uninstall mirror >/dev/null
[ ! -e "$KREW_ROOT/bin/kubectl-mirror" ] || { echo "krew-check: uninstall left kubectl-mirror behind" >&2; exit 1; }
echo "krew-check: manifest valid; installed through krew, version $version = agent image tag; kubectl completes through kubectl_complete-mirror; uninstalled"
