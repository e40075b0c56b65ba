#!/usr/bin/env bash
# cross-deps.sh ARCH...: what building voipd for ARCH (arm64, armhf) needs
# on this amd64 Debian machine: the architecture added to dpkg (multiarch),
# Debian's cross toolchain (crossbuild-essential-ARCH) and the -dev
# libraries the codecs link, for ARCH, and qemu-user-static to run the
# results. Idempotent (scripts/ensure-packages.sh); the packages stay
# installed outside the repository, a cache for the next build.
set -euo pipefail
for arch in "$@"; do
  case $arch in arm64|armhf) ;; *) echo "cross-deps.sh: $arch: arm64 or armhf" >&2; exit 2 ;; esac
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    echo "cross-deps: adding architecture $arch"
    dpkg --add-architecture "$arch"
    apt-get update -qq
  fi
  "$(dirname "$0")/ensure-packages.sh" "cross-deps $arch" crossbuild-essential-"$arch" qemu-user-static \
    libopus-dev:"$arch" libopusfile-dev:"$arch" libvpx-dev:"$arch" libyuv-dev:"$arch" \
    libturbojpeg0-dev:"$arch" libwebrtc-audio-processing-dev:"$arch" libasound2-dev:"$arch" \
    pkg-config:"$arch"
done
