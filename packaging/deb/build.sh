#!/usr/bin/env bash
# build.sh ARCH [OUT]: the voipd and roomd Debian packages for ARCH (amd64,
# arm64 or armhf) into OUT (dist/ by default). The binaries are built here
# with cgo, natively or through Debian's cross toolchain (packaging/README.md);
# each package's Depends are what dpkg-shlibdeps finds its binaries link.
# VERSION overrides the version git describe gives.
set -euo pipefail
arch=${1:?usage: build.sh ARCH [OUT]}
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mkdir -p "${2:-$repo/dist}" && cd "${2:-$repo/dist}" && pwd)
here=$repo/packaging/deb
version=${VERSION:-$("$here/version.sh")}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The Go and C toolchains for arch.
export CGO_ENABLED=1 GOOS=linux
native=$(dpkg --print-architecture)
case $arch in
  amd64) export GOARCH=amd64; triplet=x86_64-linux-gnu ;;
  arm64) export GOARCH=arm64; triplet=aarch64-linux-gnu ;;
  armhf) export GOARCH=arm GOARM=7; triplet=arm-linux-gnueabihf ;;
  *) echo "build.sh: unknown architecture $arch (amd64, arm64, armhf)" >&2; exit 2 ;;
esac
if [ "$arch" != "$native" ]; then
  export CC=$triplet-gcc CXX=$triplet-g++ PKG_CONFIG=$triplet-pkg-config
  command -v "$CC" >/dev/null || { echo "build.sh: no $CC: run scripts/cross-deps.sh $arch" >&2; exit 1; }
fi

bin=$work/bin
mkdir -p "$bin"
# Position-independent, linked by the C linker with full RELRO, as Debian
# builds its own binaries (lintian's hardening checks). nolibopusfile:
# voipd uses libopus alone, not hraban/opus's Ogg file streams, and without
# them the package needs neither libopusfile0 nor, through it, libssl3.
(cd "$repo" && go build -trimpath -buildmode=pie -tags nolibopusfile \
  -ldflags '-s -w -linkmode=external -extldflags "-Wl,-z,relro,-z,now"' \
  -o "$bin/" ./cmd/voipd ./cmd/voipctl ./cmd/roomd)

# DEBFULLNAME and DEBEMAIL name who builds the packages, as Debian's tools
# take them.
maint="${DEBFULLNAME:-voipd maintainers} <${DEBEMAIL:-maintainers@voipd.dev}>"
date=$(cd "$repo" && git log -1 --format=%aD)

# stage PKG: the tree every package shares (docs), its DEBIAN dir.
stage() {
  local pkg=$1 root=$work/$1
  mkdir -p "$root/DEBIAN" "$root/usr/share/doc/$pkg" "$root/usr/share/man/man1"
  install -m 0644 "$here/copyright" "$root/usr/share/doc/$pkg/copyright"
  sed -e "s/@PKG@/$pkg/g" -e "s/@VERSION@/$version/g" -e "s/@MAINT@/$maint/g" -e "s/@DATE@/$date/g" \
    "$here/changelog.in" | gzip -9n > "$root/usr/share/doc/$pkg/changelog.gz"
  chmod 0644 "$root/usr/share/doc/$pkg/changelog.gz"
  for s in postinst prerm postrm; do
    if [ -f "$here/$pkg.$s" ]; then install -m 0755 "$here/$pkg.$s" "$root/DEBIAN/$s"; fi
  done
}

# manpages PKG PAGE...: packaging/man/PAGE.1, compressed, into PKG.
manpages() {
  local pkg=$1 page
  shift
  for page in "$@"; do
    gzip -9n < "$repo/packaging/man/$page.1" > "$work/$pkg/usr/share/man/man1/$page.1.gz"
    chmod 0644 "$work/$pkg/usr/share/man/man1/$page.1.gz"
  done
}

# control PKG DESCRIPTION...: DEBIAN/control with the shared libraries'
# packages dpkg-shlibdeps finds for the package's ELF files, plus extra.
control() {
  local pkg=$1 extra=$2 root=$work/$1 deps
  local elves=()
  while IFS= read -r f; do
    if file -b "$f" | grep -q 'dynamically linked'; then elves+=("$f"); fi
  done < <(find "$root/usr/bin" -type f)
  deps=$extra
  if [ ${#elves[@]} -gt 0 ]; then
    mkdir -p "$work/shlibs/debian"
    printf 'Source: voipd\n\nPackage: %s\nArchitecture: %s\n' "$pkg" "$arch" > "$work/shlibs/debian/control"
    local shl
    shl=$(cd "$work/shlibs" && dpkg-shlibdeps -O --ignore-missing-info -x"$pkg" -l/usr/lib/$triplet -l/lib/$triplet "${elves[@]}" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
    deps="${shl}${extra:+, $extra}"
  fi
  {
    echo "Package: $pkg"
    echo "Version: $version"
    echo "Architecture: $arch"
    echo "Maintainer: $maint"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)"
    [ -n "$deps" ] && echo "Depends: $deps"
    echo "Section: net"
    echo "Priority: optional"
    echo "Homepage: https://github.com/voipd/voipd"
    cat "$here/$pkg.description"
  } > "$root/DEBIAN/control"
}

# voipd: the daemon, voipctl, its units, its config, a system user.
stage voipd
r=$work/voipd
install -D -m 0755 "$bin/voipd" "$r/usr/bin/voipd"
install -D -m 0755 "$bin/voipctl" "$r/usr/bin/voipctl"
install -D -m 0644 "$repo/systemd/voipd.service" "$r/lib/systemd/system/voipd.service"
install -D -m 0644 "$repo/systemd/voipd.socket" "$r/lib/systemd/system/voipd.socket"
install -D -m 0644 "$repo/config.toml" "$r/etc/voipd/config.toml"
install -D -m 0644 "$here/voipd.sysusers" "$r/usr/lib/sysusers.d/voipd.conf"
install -m 0644 "$repo/README.md" "$r/usr/share/doc/voipd/README.md"
manpages voipd voipd voipctl
echo /etc/voipd/config.toml > "$r/DEBIAN/conffiles"
control voipd "adduser"

# roomd: the room server and its unit (DynamicUser: no user to make).
stage roomd
r=$work/roomd
install -D -m 0755 "$bin/roomd" "$r/usr/bin/roomd"
install -D -m 0644 "$repo/systemd/roomd.service" "$r/lib/systemd/system/roomd.service"
install -D -m 0644 "$here/roomd.toml" "$r/etc/roomd/config.toml"
echo /etc/roomd/config.toml > "$r/DEBIAN/conffiles"
manpages roomd roomd
control roomd ""

for pkg in voipd roomd; do
  dpkg-deb --root-owner-group -Zxz --build "$work/$pkg" "$out/${pkg}_${version}_${arch}.deb" >/dev/null
  echo "$out/${pkg}_${version}_${arch}.deb"
done
