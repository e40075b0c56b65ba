#!/usr/bin/env bash
# npm-file.sh PACKAGE VERSION PATH OUT: puts the file PATH of npm's
# PACKAGE@VERSION at OUT (the caller's place in the tree, not committed).
# The npm tarball is kept in a cache outside the repository (VOIPD_CACHE,
# default /var/cache/voipd, else ~/.cache/voipd) and fetched once; OUT is
# rewritten only when it differs. Debian's npm is installed where no npm is
# (a nodejs from elsewhere brings its own, and Debian's would conflict).
# Used by livekit-client.sh and axe-core.sh.
set -euo pipefail
pkg=$1; version=$2; path=$3; out=$4
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VOIPD_CACHE:-/var/cache/voipd}
if ! mkdir -p "$cache/npm" 2>/dev/null || [ ! -w "$cache/npm" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/voipd
  mkdir -p "$cache/npm"
fi
tgz=$cache/npm/$pkg-$version.tgz
if [ ! -s "$tgz" ] && ! command -v npm >/dev/null; then
  "$repo/scripts/ensure-packages.sh" "$pkg" npm
fi
if [ ! -s "$tgz" ]; then
  echo "npm-file.sh: fetching $pkg $version from npm (once)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$pkg@$version" >/dev/null)
  mv "$work/$pkg-$version.tgz" "$tgz"
fi
tmp=$(mktemp)
tar xzf "$tgz" -O "package/$path" > "$tmp"
if ! cmp -s "$tmp" "$out" 2>/dev/null; then
  mkdir -p "$(dirname "$out")"
  mv "$tmp" "$out"
  chmod 0644 "$out"
else
  rm -f "$tmp"
fi
