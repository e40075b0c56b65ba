#!/usr/bin/env bash
# livekit-client.sh: puts LiveKit's browser client (npm's livekit-client,
# its UMD build) where roomd's gateway embeds it (roomd/lkgate/vendor), for
# the browser page to join rooms on LiveKit (issue 18). The npm tarball is
# kept in a cache outside the repository and fetched once
# (scripts/npm-file.sh); the file in the tree is not committed (.gitignore).
#
# 2.21.0 is the release of livekit-server v1.13.5's month (the server the
# tests run), Apache-2.0 (packaging/deb/copyright).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
exec "$repo/scripts/npm-file.sh" livekit-client 2.21.0 dist/livekit-client.umd.js \
  "$repo/roomd/lkgate/vendor/livekit-client.umd.js"
