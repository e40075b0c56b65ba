#!/usr/bin/env bash
# cross-deps.sh ARCH...: what building voipd for ARCH (arm64, armhf) needs
# on this amd64 Debian machine: the architecture added to dpkg (multiarch),
# Debian's cross toolchain (crossbuild-essential-ARCH) and the -dev
# libraries the codecs link, for ARCH, and qemu-user-static to run the
# results. No libopusfile: the ARM builds use -tags nolibopusfile
# (packaging/deb/build.sh says why). Idempotent (scripts/ensure-packages.sh); the packages stay
# installed outside the repository, a cache for the next build.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
for arch in "$@"; do
  case $arch in arm64|armhf) ;; *) echo "cross-deps.sh: $arch: arm64 or armhf" >&2; exit 2 ;; esac
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    echo "cross-deps: adding architecture $arch"
    $SUDO dpkg --add-architecture "$arch"
  fi
  # apt's lists for arch: fetched once. A mirror caught mid-sync fails one
  # index now and then; the update is tried again before giving up.
  for try in 1 2 3; do
    if apt-cache show "libc6:$arch" >/dev/null 2>&1 && apt-cache show "libvpx-dev:$arch" >/dev/null 2>&1; then break; fi
    $SUDO apt-get update -qq || { echo "cross-deps: apt-get update failed (try $try of 3)" >&2; sleep $((try * 5)); }
  done
  "$(dirname "$0")/ensure-packages.sh" "cross-deps $arch" crossbuild-essential-"$arch" qemu-user-static \
    libopus-dev:"$arch" libvpx-dev:"$arch" libyuv-dev:"$arch" \
    libturbojpeg0-dev:"$arch" libwebrtc-audio-processing-dev:"$arch" libasound2-dev:"$arch" \
    pkg-config:"$arch"
done
