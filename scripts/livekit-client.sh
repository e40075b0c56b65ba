#!/usr/bin/env bash
# livekit-client.sh: puts LiveKit's browser client (npm's livekit-client,
# its UMD build) where roomd's gateway embeds it (roomd/lkgate/vendor), for
# the browser page to join rooms on LiveKit (issue 18). The npm tarball is
# kept in a cache outside the repository (VOIPD_CACHE, as scripts/livekit.sh)
# and fetched once; the file in the tree is not committed (.gitignore).
#
# 2.21.0 is the release of livekit-server v1.13.5's month (the server the
# tests run), Apache-2.0 (packaging/deb/copyright).
set -euo pipefail
version=2.21.0
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/roomd/lkgate/vendor/livekit-client.umd.js
cache=${VOIPD_CACHE:-/var/cache/voipd}
if ! mkdir -p "$cache/npm" 2>/dev/null || [ ! -w "$cache/npm" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/voipd
  mkdir -p "$cache/npm"
fi
tgz=$cache/npm/livekit-client-$version.tgz
if [ ! -s "$tgz" ] && ! command -v npm >/dev/null; then
  # Debian's npm, only where no npm is (a nodejs from elsewhere brings its
  # own, and Debian's would conflict with it).
  "$repo/scripts/ensure-packages.sh" livekit-client npm
fi
if [ ! -s "$tgz" ]; then
  echo "livekit-client.sh: fetching livekit-client $version from npm (once)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "livekit-client@$version" >/dev/null)
  mv "$work/livekit-client-$version.tgz" "$tgz"
fi
tmp=$(mktemp)
tar xzf "$tgz" -O package/dist/livekit-client.umd.js > "$tmp"
if ! cmp -s "$tmp" "$out" 2>/dev/null; then
  mkdir -p "$(dirname "$out")"
  mv "$tmp" "$out"
  chmod 0644 "$out"
else
  rm -f "$tmp"
fi
