#!/usr/bin/env bash
# Installs the Debian packages voipd's build, tests and `make run` need.
# Idempotent: scripts/ensure-packages.sh asks dpkg first and runs apt-get
# only for what is missing.
set -euo pipefail

pkgs=(
  gcc pkg-config            # cgo
  libopus-dev libopusfile-dev  # codec/opus (hraban/opus links both)
  libvpx-dev                # codec/vp8
  libyuv-dev                # codec/yuv: camera formats to I420, scaling
  libturbojpeg0-dev         # codec/mjpeg: MJPEG cameras
  libwebrtc-audio-processing-dev  # codec/apm: echo cancellation, noise suppression, gain control
  g++                       # codec/apm's shim over that C++ API
  libasound2-dev            # hw/audio (miniaudio's ALSA backend) and the test ALSA plugin
  pulseaudio pulseaudio-utils  # the real capture path in tests (null sink + module-sine)
  chromium                  # the browser client tests (headless)
  systemd                   # systemd-analyze and systemd-socket-activate in tests
  iproute2 nftables         # reliability tests: a voipd in its own network namespace, its traffic cut or thinned
  openssl ca-certificates procps
  dpkg-dev lintian file     # make deb: dpkg-shlibdeps, lintian, and the packaging test
  adduser passwd util-linux # the packages' maintainer scripts; unshare and setpriv in that test
  redis-server              # roomd's LiveKit gateway tests: the Redis gateways and LiveKit nodes share
)

exec "$(dirname "$0")/ensure-packages.sh" deps "${pkgs[@]}"
