#!/usr/bin/env bash
# livekit.sh: builds the LiveKit server the gateway tests run (issue 18),
# once, into a cache outside the repository, and prints its path.
#
# livekit-server v1.13.5 is the newest release that builds from the Go
# module proxy: later ones need LiveKit's own forks of pion, which the proxy
# does not serve. It is built in a scratch module of its own (its
# dependencies are not the project's), about 2 minutes and 75 MB.
# VOIPD_CACHE (default /var/cache/voipd, or ~/.cache/voipd when that is not
# writable) holds it; delete the file to rebuild.
set -euo pipefail
version=v1.13.5
cache=${VOIPD_CACHE:-/var/cache/voipd}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/voipd
  mkdir -p "$cache"
fi
bin=$cache/livekit-server-$version
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "${version#v}"; then
  echo "$bin"
  exit 0
fi
echo "livekit.sh: building livekit-server $version into $cache (once; about 2 minutes)" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
GO=${GO:-go}
export GOFLAGS=-mod=mod GOWORK=off
"$GO" mod init livekit-fixture >/dev/null 2>&1
"$GO" get "github.com/livekit/livekit-server@$version" >&2
"$GO" build -trimpath -o "$bin.tmp" github.com/livekit/livekit-server/cmd/server >&2
mv "$bin.tmp" "$bin"
"$bin" --version >&2
echo "$bin"
