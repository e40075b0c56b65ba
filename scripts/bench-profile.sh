#!/usr/bin/env bash
# Part of make bench: a CPU profile of one voipd in a two-member 640x480@30
# video call (synthetic devices, embedded roomd, loopback), taken through
# voipd's own debug.pprof switch, printed as a markdown section naming the
# top costs. Usage: bench-profile.sh BINDIR [SECONDS]
set -euo pipefail
bin=$1
secs=${2:-15}
dir=$(mktemp -d /tmp/voipd-prof.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
room=$(free_port); prof=$(free_port)
secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
for n in a b; do
  url="ws://127.0.0.1:$room/ws"; extra=""
  if [ $n = a ]; then
    url=embedded
    extra=$'[embedded]\nlisten = "127.0.0.1:'$room$'"\nappSecret = "'$secret$'"\n[debug]\npprof = "127.0.0.1:'$prof$'"'
  fi
  key=$("$bin/roomd" sign -app-id wx0000000000000000 -app-secret "$secret" -openid "prof-$n" -groupId x | sed 's/.*"sessionKey":"\([^"]*\)".*/\1/')
  cat >"$dir/$n.toml" <<CONF
[identity]
appId = "wx0000000000000000"
openid = "prof-$n"
sessionKey = "$key"
[room]
url = "$url"
[control]
socket = "$dir/$n.sock"
[audio]
backend = "null"
capture = "tone:440"
playback = "null"
[video]
camera = "pattern:$n"
[display]
listen = ""
$extra
CONF
  chmod 600 "$dir/$n.toml"
  "$bin/voipd" -config "$dir/$n.toml" 2>"$dir/$n.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$dir/$n.sock" ] && break; sleep 0.05; done
done
for n in a b; do
  s=$("$bin/voipctl" -config "$dir/$n.toml" sign -groupId prof)
  "$bin/voipctl" -socket "$dir/$n.sock" joinVoIPChat "${s%\}},\"groupId\":\"prof\",\"roomType\":\"video\"}" >/dev/null
done
sleep 2
top=$(go tool pprof -top -cum -nodecount=200 -seconds "$secs" "http://127.0.0.1:$prof/debug/pprof/profile" 2>/dev/null)
total=$(awk '/Total samples/ {for(i=1;i<=NF;i++) if($i=="=") print $(i+1)}' <<<"$top")
echo "### Where a video call's CPU goes"
echo
echo "A ${secs} s CPU profile (voipd's \`debug.pprof\`) of one voipd in a two-member 640x480@30 video call with"
echo "audio (synthetic devices, the other member a second voipd, roomd embedded in the profiled one); total"
echo "samples $total. The costs below are the leaf work (C calls and the synthetic camera), by cumulative time:"
echo
echo "| cost | cumulative | share |"
echo "| --- | --- | --- |"
rows=$(grep -E '_Cfunc_|synth\.\(\*Pattern\)\.draw$|syscall\.Syscall6$|runtime\.mallocgc$|roomd\.\(\*member\)\.forward' <<<"$top" | head -6)
awk '{printf "| `%s` | %s | %s |\n", $6, $4, $5}' <<<"$rows"
echo
echo "The top three costs of this run: $(head -3 <<<"$rows" | awk '{n=$6; sub(/.*\//, "", n); printf "%s%s (%s)", (NR>1?", ":""), n, $5}')."
