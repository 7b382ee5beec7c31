#!/usr/bin/env bash
# Points this wrapper module at another Kubernetes release:
#
#   hack/tools/k8s/regen.sh v1.36.3
#
# k8s.io/kubernetes replaces its staging modules (k8s.io/api, client-go, ...)
# with ./staging/src paths that only exist in its own repository, so a module
# that requires it must replace each of them with the published v0.MINOR.PATCH
# itself. The list comes from the release's own go.mod, so a new staging
# module is picked up automatically. Ends with go mod tidy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

version=${1:?usage: regen.sh vMAJOR.MINOR.PATCH (e.g. v1.36.3)}
[[ "$version" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || { echo "not a Kubernetes release: ${version}" >&2; exit 1; }
staging="v0.${version#v1.}"

upstream_gomod=$(go mod download -json "k8s.io/kubernetes@${version}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
[[ -f "$upstream_gomod" ]] || { echo "could not download k8s.io/kubernetes@${version}" >&2; exit 1; }

# Drop the previous release's replaces, then append this one's as one block.
drops=()
while read -r m; do
  drops+=("-dropreplace=${m}")
done < <(go mod edit -json | sed -n 's/^[[:space:]]*"Path": "\(k8s\.io\/[^"]*\)",$/\1/p' | sort -u)
go mod edit "${drops[@]}"
{
  echo "replace ("
  awk -v v="$staging" '$2 == "=>" && $3 ~ /^\.\/staging\// { printf "\t%s => %s %s\n", $1, $1, v }' "$upstream_gomod"
  echo ")"
} >>go.mod
go mod edit -fmt -require="k8s.io/kubernetes@${version}"
go mod tidy
echo "k8s.io/kubernetes ${version}, staging modules ${staging}"
