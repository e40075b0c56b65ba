#!/usr/bin/env bash
# make run: voipd with its embedded room server (dev mode), joined to a
# room, and the URL a person opens in a browser to join the same room.
# Audio: PulseAudio/PipeWire if a server answers, else a synthetic 440 Hz tone
# and null playback (this says which). Ctrl-C or SIGTERM leaves and exits 0.
#
# Video: the first camera, else a synthetic pattern (VOIPD_RUN_ROOMTYPE=voice
# for a voice room).
# Environment: VOIPD_RUN_LISTEN (127.0.0.1:8089), VOIPD_RUN_DISPLAY
# (127.0.0.1:8090, the local screen feed), VOIPD_RUN_GROUP (demo),
# VOIPD_RUN_DIR (a fresh temp dir), VOIPD_BIN (bin).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${VOIPD_BIN:-bin}
listen=${VOIPD_RUN_LISTEN:-127.0.0.1:8089}
group=${VOIPD_RUN_GROUP:-demo}
dir=${VOIPD_RUN_DIR:-$(mktemp -d /tmp/voipd-run.XXXXXX)}
mkdir -p "$dir"

if command -v pactl >/dev/null 2>&1 && timeout 3 pactl info >/dev/null 2>&1; then
  backend=pulse capture=default playback=default
  echo "run: audio through PulseAudio (microphone and speaker: the server's defaults)"
else
  backend=null capture=tone:440 playback=null
  echo "run: no sound server answers: the daemon sends a synthetic 440 Hz tone and discards what it receives"
fi

if compgen -G "/dev/video*" >/dev/null; then
  camera=default
  echo "run: video from the first camera"
else
  camera=pattern
  echo "run: no camera: the daemon sends a synthetic moving pattern with its frame number drawn in"
fi
roomType=${VOIPD_RUN_ROOMTYPE:-video}

secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
umask 077
cat >"$dir/config.toml" <<CONF
[identity]
appId = "wx0000000000000000"
openid = "voipd-demo"
[room]
url = "embedded"
[embedded]
listen = "$listen"
appSecret = "$secret"
dev = true
[control]
socket = "$dir/control.sock"
[display]
listen = "${VOIPD_RUN_DISPLAY:-127.0.0.1:8090}"
[audio]
backend = "$backend"
capture = "$capture"
playback = "$playback"
[video]
camera = "$camera"
CONF

"$bin/voipd" -config "$dir/config.toml" &
pid=$!
stop() {
  trap - TERM INT
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "run: stopped"
  exit 0
}
trap stop TERM INT

for _ in $(seq 100); do
  [ -S "$dir/control.sock" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "run: voipd exited"; exit 1; }
  sleep 0.1
done

signed=$("$bin/voipctl" -config "$dir/config.toml" sign -groupId "$group")
params="${signed%\}},\"groupId\":\"$group\",\"roomType\":\"$roomType\"}"
"$bin/voipctl" -socket "$dir/control.sock" joinVoIPChat "$params"
echo
echo "run: voipd is in $roomType room \"$group\". Open this URL in a browser to join it:"
echo "    http://$listen/?groupId=$group&autojoin=1&roomType=$roomType"
echo "run: the device's own screen feed (<voip-room> elements): http://${VOIPD_RUN_DISPLAY:-127.0.0.1:8090}/"
echo "run: control socket $dir/control.sock (bin/voipctl -socket $dir/control.sock status); Ctrl-C to stop"
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid" || true
done
echo "run: voipd exited"
exit 1
