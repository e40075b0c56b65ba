#!/usr/bin/env bash
# Installs the Debian packages voipd's build, tests and `make run` need.
# Idempotent: it asks dpkg first and runs apt-get only for what is missing.
set -euo pipefail

pkgs=(
  gcc pkg-config            # cgo
  libopus-dev libopusfile-dev  # codec/opus (hraban/opus links both)
  libvpx-dev                # codec/vp8
  libyuv-dev                # codec/yuv: camera formats to I420, scaling
  libturbojpeg0-dev         # codec/mjpeg: MJPEG cameras
  libasound2-dev            # hw/audio (miniaudio's ALSA backend) and the test ALSA plugin
  pulseaudio pulseaudio-utils  # the real capture path in tests (null sink + module-sine)
  chromium                  # the browser client tests (headless)
  systemd                   # systemd-analyze and systemd-socket-activate in tests
  openssl ca-certificates procps
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
