#!/usr/bin/env bash
# Installs what `make bench` needs beyond scripts/deps.sh: ffmpeg (the VP8
# anchor run through libvpx by another program), baresip (the voice call's
# anchor, internal/bench/anchor/baresip.sh), perf (where the voice call's
# CPU goes, voipd's and baresip's) and util-linux's taskset
# (pinning the measured processes apart from the load). Idempotent, like
# scripts/deps.sh (scripts/ensure-packages.sh installs only what is
# missing). gcc, libopus-dev and libvpx-dev (the C anchors) come from deps.sh.
set -euo pipefail

pkgs=(
  ffmpeg       # the ffmpeg -c:v libvpx anchor
  baresip-core # the voice call's anchor (issue 19)
  linux-perf   # the voice call's CPU split by call stack (issue 19)
  util-linux   # taskset
  procps
)

exec "$(dirname "$0")/ensure-packages.sh" bench-deps "${pkgs[@]}"
