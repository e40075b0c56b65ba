#!/usr/bin/env bash
# axe-core.sh: puts axe-core (npm's axe-core: the accessibility checker the
# browser tests run in Chromium, issue 20) where internal/browsertest reads
# it (internal/browsertest/axe/axe.min.js). The npm tarball is kept in a
# cache outside the repository (VOIPD_CACHE, as scripts/livekit-client.sh)
# and fetched once; the file in the tree is not committed (.gitignore).
# axe-core is MPL-2.0; it is a test fixture only, never shipped.
set -euo pipefail
version=4.14.1
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/internal/browsertest/axe/axe.min.js
cache=${VOIPD_CACHE:-/var/cache/voipd}
if ! mkdir -p "$cache/npm" 2>/dev/null || [ ! -w "$cache/npm" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/voipd
  mkdir -p "$cache/npm"
fi
tgz=$cache/npm/axe-core-$version.tgz
if [ ! -s "$tgz" ] && ! command -v npm >/dev/null; then
  "$repo/scripts/ensure-packages.sh" axe-core npm
fi
if [ ! -s "$tgz" ]; then
  echo "axe-core.sh: fetching axe-core $version from npm (once)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "axe-core@$version" >/dev/null)
  mv "$work/axe-core-$version.tgz" "$tgz"
fi
tmp=$(mktemp)
tar xzf "$tgz" -O package/axe.min.js > "$tmp"
if ! cmp -s "$tmp" "$out" 2>/dev/null; then
  mkdir -p "$(dirname "$out")"
  mv "$tmp" "$out"
  chmod 0644 "$out"
else
  rm -f "$tmp"
fi
