#!/usr/bin/env bash
# install-test.sh DIST ROOMURL SESSIONKEY: installs, upgrades, removes and
# purges the packages in DIST as an operator would, on this machine's own
# root but through an overlay in a private mount namespace, so that the
# machine itself is left untouched and what the packages left behind can
# be read from the overlay's upper layer. DIST holds voipd_A, voipd_B
# (a later version), roomd_A. voipd, once installed, is configured to join
# the roomd at ROOMURL as openid "pkg" with SESSIONKEY, started as the
# packaged user, asked for its status and made to join a room.
# Every check that fails says what it found; the exit status is theirs.
set -euo pipefail
dist=$(cd "$1" && pwd); roomurl=$2; key=$3
# Its own mount and PID namespaces: the overlay is seen only here, and the
# chroot's /proc shows only this test's processes (userdel refuses a user
# any process on the machine runs as, and another run of this test beside
# this one has a voipd of the same uid).
if [ "${INSIDE:-}" != 1 ]; then
  exec unshare --mount --pid --fork --propagation private env INSIDE=1 "$0" "$@"
fi

t=$(mktemp -d /tmp/pkgtest.XXXXXX)
mount -t tmpfs tmpfs "$t"
mkdir -p "$t/upper" "$t/work" "$t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/root"
mount -t proc proc "$t/root/proc"
for d in sys dev; do mount --rbind "/$d" "$t/root/$d"; done
mount -t tmpfs tmpfs "$t/root/run"
mount -t tmpfs tmpfs "$t/root/tmp"
mkdir -p "$t/root/pkgs"
mount --bind "$dist" "$t/root/pkgs"
inroot() { chroot "$t/root" "$@"; }
fails=0
check() { # check WHAT COMMAND...: run, say ok or FAIL with its output
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then echo "ok: $what"; else echo "FAIL: $what: $out"; fails=$((fails + 1)); fi
}
a=$(cd "$dist" && ls voipd_*_A.deb) b=$(cd "$dist" && ls voipd_*_B.deb) r=$(cd "$dist" && ls roomd_*.deb)

# Install.
check "dpkg -i voipd and roomd" inroot dpkg -i "/pkgs/$r" "/pkgs/$a"
check "user voipd exists, in groups audio and video" inroot sh -c 'id -nG voipd | grep -qw audio && id -nG voipd | grep -qw video && id -nG voipd | grep -qw voipd'
check "voipd's shell is nologin" inroot sh -c 'getent passwd voipd | grep -q ":/usr/sbin/nologin$"'
check "config 0640 root:voipd" inroot sh -c 'test "$(stat -c %a:%U:%G /etc/voipd/config.toml)" = 640:root:voipd'
check "binaries 0755 root:root" inroot sh -c 'for f in /usr/bin/voipd /usr/bin/voipctl /usr/bin/roomd; do test "$(stat -c %a:%U:%G $f)" = 755:root:root || { stat -c "%n %a:%U:%G" $f; exit 1; }; done'
check "units in place" inroot sh -c 'test -f /lib/systemd/system/voipd.service && test -f /lib/systemd/system/voipd.socket && test -f /lib/systemd/system/roomd.service'
check "README and copyright" inroot sh -c 'test -f /usr/share/doc/voipd/README.md && test -f /usr/share/doc/voipd/copyright && test -f /usr/share/doc/roomd/copyright'
check "conffiles registered" inroot sh -c 'dpkg-query -W -f="\${Conffiles}" voipd | grep -q /etc/voipd/config.toml'

# Configure as an operator would (the file keeps its owner and mode; the
# session key goes in a file of voipd's own, which voipd insists on), then
# start voipd as its user, as voipd.service would.
printf '%s\n' "$key" | inroot install -o voipd -g voipd -m 0600 /dev/stdin /etc/voipd/session-key
inroot sh -c "cat > /etc/voipd/config.toml" <<CONF
[identity]
appId = "wx20afc706a711eefc"
openid = "pkg"
sessionKeyFile = "/etc/voipd/session-key"
[room]
url = "$roomurl"
[control]
socket = "/run/voipd/control.sock"
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
[display]
listen = ""
CONF
check "config still 0640 root:voipd after the edit" inroot sh -c 'test "$(stat -c %a:%U:%G /etc/voipd/config.toml)" = 640:root:voipd'
inroot install -d -o voipd -g voipd -m 0750 /run/voipd /var/lib/voipd
# chroot execs setpriv, which execs env, which execs voipd: $! is voipd.
chroot "$t/root" setpriv --reuid voipd --regid voipd --init-groups env STATE_DIRECTORY=/var/lib/voipd \
  /usr/bin/voipd -config /etc/voipd/config.toml > "$t/voipd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$t/root/run/voipd/control.sock" ] && break; sleep 0.1; done
check "voipd answers status (idle)" inroot sh -c '/usr/bin/voipctl -socket /run/voipd/control.sock status | grep -q "\"state\": *\"idle\""'
check "voipd joins a room" inroot sh -c '/usr/bin/voipctl -socket /run/voipd/control.sock joinVoIPChat "$(/usr/bin/voipctl -config /etc/voipd/config.toml sign -groupId pkgtest | sed "s/^{/{\"groupId\":\"pkgtest\",/")" | grep -q openIdList'
check "status says inRoom" inroot sh -c '/usr/bin/voipctl -socket /run/voipd/control.sock status | grep -q "\"state\": *\"inRoom\""'
kill "$pid"; wait "$pid" || true
check "voipd stopped, no process of user voipd left" inroot sh -c "! pgrep -u voipd >/dev/null && ! kill -0 $pid 2>/dev/null"
if [ "$fails" -gt 0 ]; then echo "voipd's log:"; cat "$t/voipd.log"; fi

# Upgrade: the operator's config stays, as do its owner and mode.
check "dpkg -i the later voipd (upgrade)" inroot dpkg -i "/pkgs/$b"
check "upgraded" inroot sh -c "dpkg-query -W -f='\${Version}' voipd | grep -q '$(dpkg-deb -f "$dist/$b" Version)'"
check "the operator's config kept" inroot grep -q 'openid = "pkg"' /etc/voipd/config.toml
check "config still 0640 root:voipd after the upgrade" inroot sh -c 'test "$(stat -c %a:%U:%G /etc/voipd/config.toml)" = 640:root:voipd'

# Remove: the program goes, the config stays (dpkg's rule for conffiles).
check "dpkg -r voipd" inroot dpkg -r voipd
check "voipd gone after remove" inroot sh -c '! test -e /usr/bin/voipd && ! test -e /lib/systemd/system/voipd.service'
check "config kept after remove" inroot test -f /etc/voipd/config.toml

# Purge: nothing of either package is left.
check "dpkg -P voipd roomd" inroot dpkg -P voipd roomd
check "user and group voipd gone" inroot sh -c '! getent passwd voipd && ! getent group voipd'
check "no statoverride left" inroot sh -c '! dpkg-statoverride --list | grep -q voipd'
left=$(cd "$t/upper" && find . -path ./var/log -prune -o -path ./var/cache -prune -o -path ./var/lib/dpkg -prune -o \( -name '*voipd*' -o -name '*roomd*' \) -print)
check "no file named voipd or roomd left (beyond dpkg's log)" test -z "$left"
[ -z "$left" ] || echo "left: $left"
dbleft=$(grep -l -E 'voipd|roomd' "$t/upper/var/lib/dpkg/info/"* 2>/dev/null || true)
check "dpkg's database forgets them" sh -c "test -z '$dbleft' && ! chroot '$t/root' dpkg -s voipd >/dev/null 2>&1"

umount -R "$t/root" 2>/dev/null || umount -l "$t/root"
umount -l "$t"
rmdir "$t"
echo "$fails failed"
exit $((fails > 0))
