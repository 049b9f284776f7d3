#!/usr/bin/env bash
# Runs the test suite (or the vitest arguments given) on another Node major, e.g.
#   scripts/test-on-node.sh 22                      # the whole suite
#   scripts/test-on-node.sh 22 test/unit/store      # a subset
# The Node binary comes from the npm registry's `node` package (as `npx -p node@<major>` gets
# it); its tarball ships the C headers, so better-sqlite3 (a native addon, built per ABI) is rebuilt
# against it offline. That happens in a throwaway copy of the checkout, so the node_modules
# of this one keep working with the Node that installed them.
set -euo pipefail
major="${1:?usage: scripts/test-on-node.sh <node major> [vitest args…]}"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/bridge-node${major}.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Hard links make the copy cheap; the addon's folder is copied for real, as it is rebuilt.
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work")
cp -al "$root/node_modules" "$work/node_modules"
rm -rf "$work/node_modules/better-sqlite3"
cp -a "$root/node_modules/better-sqlite3" "$work/node_modules/better-sqlite3"

# A private install (npm's cache makes the second one fast): npx's shared folder is
# reinstalled under anyone else running `npx -p node@…` at the same time.
npm install --prefix "$work/.node" --no-save --no-audit --no-fund --no-package-lock "node@${major}" >&2
node_bin="$work/.node/node_modules/node/bin/node"
# The package copies the binary to node/bin/node and keeps the unpacked release tarball,
# headers included, in its platform package node/node_modules/node-<os>-<arch>.
platform="$("$node_bin" -p 'process.platform + "-" + process.arch')"
node_home="$work/.node/node_modules/node/node_modules/node-${platform}"
[ -d "$node_home/include/node" ] || { echo "no C headers in $node_home for $node_bin" >&2; exit 1; }

cd "$work"
echo "node $("$node_bin" --version): rebuilding better-sqlite3 against $node_home/include/node" >&2
PATH="$(dirname "$node_bin"):$PATH" npm rebuild better-sqlite3 --nodedir="$node_home" --foreground-scripts >&2
PATH="$(dirname "$node_bin"):$PATH" node -e "new (require('better-sqlite3'))(':memory:').close()"
echo "node $("$node_bin" --version): better-sqlite3 loads; running vitest $*" >&2
PATH="$(dirname "$node_bin"):$PATH" npx vitest run "$@"
