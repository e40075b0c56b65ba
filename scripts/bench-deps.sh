#!/usr/bin/env bash
# Installs what `make bench` needs beyond scripts/deps.sh: ffmpeg (the VP8
# anchor run through libvpx by another program) and util-linux's taskset
# (pinning the measured processes apart from the load). Idempotent, like
# scripts/deps.sh: it asks dpkg first and runs apt-get only for what is
# missing. gcc, libopus-dev and libvpx-dev (the C anchors) come from deps.sh.
set -euo pipefail

pkgs=(
  ffmpeg       # the ffmpeg -c:v libvpx anchor
  util-linux   # taskset
  procps
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bench-deps: all ${#pkgs[@]} packages present"
  exit 0
fi

echo "bench-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
