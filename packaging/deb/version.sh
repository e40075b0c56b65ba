#!/usr/bin/env bash
# version.sh: the packages' Debian version from git: the newest tag vX.Y.Z
# reachable from HEAD, then +gitN.HASH for N commits after it (a build
# between releases sorts after the release it follows); 0.0.0+gitN.HASH
# before any tag.
set -euo pipefail
cd "$(dirname "$0")/../.."
hash=$(git rev-parse --short=9 HEAD)
if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
  n=$(git rev-list --count "$tag"..HEAD)
  v=${tag#v}
  if [ "$n" -gt 0 ]; then v="$v+git$n.$hash"; fi
else
  v="0.0.0+git$(git rev-list --count HEAD).$hash"
fi
echo "$v"
