#!/usr/bin/env bash
# Builds the Vault dev server peer: `build.sh GO OUTPUT` (scripts/peers calls it).
#
# Vault v1.14.10 (MPL-2.0) against the published sdk v0.9.2 (see go.mod for why), with two
# changes to a temporary copy of that sdk, as Vault's own 1.14 branch has them:
# * sdk-shims/*.go.in: symbols 1.14.x back-ported in-tree (request role, original body,
#   HA fencing), which vault/ and physical/consul use;
# * framework.Backend.init's assertion that a path with a CreateOperation has an
#   ExistenceCheck is dropped: it came to sdk main after 1.14 branched, and 1.14's own
#   enterprise-only `sys/managed-keys` stubs fail it, so the first request to `sys/` panics
#   ("Pattern managed-keys/... defines a CreateOperation but no ExistenceCheck").
# The module cache is read-only (and `go build -overlay` refuses files under it), hence
# the copy and an alternate go.mod (-modfile) that points the sdk at it.
set -euo pipefail
go="$1"
out="$2"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sdk_dir="$(cd "$here" && "$go" mod download -json github.com/hashicorp/vault/sdk@v0.9.2 |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[[ -d "$sdk_dir" ]] || { echo "build.sh: sdk v0.9.2 not downloaded" >&2; exit 1; }
cp -r "$sdk_dir" "$work/sdk"
chmod -R u+w "$work/sdk"
cp "$here/sdk-shims/logical.go.in" "$work/sdk/logical/zz_vouch_shims.go"
cp "$here/sdk-shims/physical.go.in" "$work/sdk/physical/zz_vouch_shims.go"

backend="$work/sdk/framework/backend.go"
check='		if p.ExistenceCheck == nil {'
[[ "$(grep -cxF "$check" "$backend")" == 1 ]] ||
  { echo "build.sh: the ExistenceCheck assertion in $backend is not where expected" >&2; exit 1; }
sed -i 's/^\t\tif p\.ExistenceCheck == nil {$/\t\tif false \&\& p.ExistenceCheck == nil {/' "$backend"
grep -qF 'if false && p.ExistenceCheck == nil {' "$backend"

cp "$here/go.mod" "$work/go.mod"
cp "$here/go.sum" "$work/go.sum"
"$go" mod edit -replace="github.com/hashicorp/vault/sdk=$work/sdk" "$work/go.mod"
cd "$here"
"$go" build -modfile="$work/go.mod" -trimpath -ldflags="-s -w" -o "$out" github.com/hashicorp/vault
