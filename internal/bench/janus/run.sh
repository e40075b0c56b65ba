#!/usr/bin/env bash
# roomd vs Janus VideoRoom vs LiveKit: one publisher (Opus + ~800 kbit/s
# VP8) forwarded to N subscribers, server CPU per forwarded stream, side by
# side. Prints a
# markdown section on stdout (scripts/bench.sh appends it to
# docs/BENCHMARKS.md); progress and logs go to stderr.
#
#   internal/bench/janus/run.sh
#
# BENCH_FORWARD_N (default 5,10,20,40) are the subscriber counts,
# BENCH_FORWARD_SECONDS (default 10) the measured window at each,
# BENCH_FORWARD_LEGS (default "roomd janus livekit") the servers measured:
# one alone is quicker when working on it, the others are then reported as
# not measured. Installs Debian's janus if missing (apt-get). The servers run one
# after the other, each pinned to core 1; the load generator is pinned to
# core 0.
set -euo pipefail
cd "$(dirname "$0")/../../.."

log() { echo "bench/janus: $*" >&2; }

tmp=$(mktemp -d)
pids=()
stop_pid() { # stop one process we started, by its pid
  local pid=$1
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  rm -rf "$tmp"
}
trap cleanup EXIT

export BENCH_FORWARD_N=${BENCH_FORWARD_N:-5,10,20,40}
export BENCH_FORWARD_SECONDS=${BENCH_FORWARD_SECONDS:-10}
legs=" ${BENCH_FORWARD_LEGS:-roomd janus livekit} "
server_cpu=1 gen_cpu=0
if [ "$(nproc)" -lt 2 ]; then
  log "one core only: server and generator share it, figures are not isolated"
  server_cpu=0
fi

go build -o "$tmp/" ./cmd/roomd ./internal/bench/janus/...

# wait_for CMD...: retry for 15 s
wait_for() {
  for _ in $(seq 150); do "$@" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- roomd leg -------------------------------------------------------------
if [[ $legs == *" roomd "* ]]; then
  app_id=wxbench$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
  app_secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  umask 077
  cat >"$tmp/roomd.toml" <<EOF
listen = "127.0.0.1:0"
maxMembers = 200
logLevel = "warn"
[[apps]]
id = "$app_id"
secret = "$app_secret"
EOF
  taskset -c "$server_cpu" "$tmp/roomd" -config "$tmp/roomd.toml" >"$tmp/roomd.out" 2>"$tmp/roomd.err" &
  roomd_pid=$!
  pids+=("$roomd_pid")
  if ! wait_for grep -q '^http' "$tmp/roomd.out"; then
    cat "$tmp/roomd.err" >&2
    log "roomd did not start"
    exit 1
  fi
  roomd_url=$(grep -m1 '^http' "$tmp/roomd.out")
  log "roomd (pid $roomd_pid, core $server_cpu) at $roomd_url"
  if ! taskset -c "$gen_cpu" "$tmp/loadgen" measure -server roomd -url "ws${roomd_url#http}/ws" \
    -app-id "$app_id" -app-secret "$app_secret" -pid "$roomd_pid" -out "$tmp/roomd.json"; then
    log "the roomd leg failed (any points measured are reported)"
    tail -20 "$tmp/roomd.err" >&2
  fi
  stop_pid "$roomd_pid"
fi

# --- Janus leg -------------------------------------------------------------
janus_note=""
if [[ $legs != *" janus "* ]]; then
  janus_note="not measured: BENCH_FORWARD_LEGS left it out."
elif ! command -v janus >/dev/null; then
  log "installing janus (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  $sudo apt-get install -y --no-install-recommends janus >&2 ||
    { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends janus >&2; } ||
    janus_note="not measured: janus is not installed and apt-get could not install it."
fi
# Janus's libnice gathers no loopback candidate, and its ice_enforce_list
# cannot name lo: ICE runs on the host's own address, which Linux routes
# through lo like 127.0.0.1 (the API stays on 127.0.0.1).
media_ip=$(ip -4 -o addr show scope global 2>/dev/null | awk 'NR==1{split($4,a,"/"); print a[1]}')
if [ -z "$janus_note" ] && [ -z "$media_ip" ]; then
  janus_note="not measured: the host has no non-loopback IPv4 address for Janus's ICE (libnice skips lo)."
fi
if [ -z "$janus_note" ]; then
  lib=$(dirname "$(dpkg -L janus 2>/dev/null | grep -m1 '/janus/plugins/libjanus_videoroom.so$')")
  lib=${lib%/plugins}
  [ -d "$lib" ] || lib=/usr/lib/x86_64-linux-gnu/janus
  jport=${BENCH_JANUS_PORT:-18188}
  cfg=$tmp/janus
  mkdir -p "$cfg"
  # Every plugin, transport and logger but VideoRoom and HTTP is disabled.
  others() { ls "$lib/$1" | grep -E '\.so$' | grep -vE "$2" | paste -sd, -; }
  cat >"$cfg/janus.jcfg" <<EOF
general: {
	configs_folder = "$cfg"
	plugins_folder = "$lib/plugins"
	transports_folder = "$lib/transports"
	events_folder = "$lib/events"
	loggers_folder = "$lib/loggers"
	debug_level = 3
	session_timeout = 120
	server_name = "bench"
}
media: {
	rtp_port_range = "20000-40000"
}
nat: {
	nice_debug = false
	ice_enforce_list = "$media_ip"
	ignore_mdns = true
	full_trickle = false
}
plugins: {
	disable = "$(others plugins libjanus_videoroom)"
}
transports: {
	disable = "$(others transports libjanus_http)"
}
loggers: {
	disable = "$(others loggers '^$')"
}
events: {
	broadcast = false
}
EOF
  cat >"$cfg/janus.transport.http.jcfg" <<EOF
general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = $jport
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
EOF
  printf 'general: {\n}\n' >"$cfg/janus.plugin.videoroom.jcfg"
  taskset -c "$server_cpu" janus -C "$cfg/janus.jcfg" -F "$cfg" -i 127.0.0.1 -o >"$tmp/janus.log" 2>&1 &
  janus_pid=$!
  pids+=("$janus_pid")
  if ! wait_for port_open "$jport"; then
    tail -20 "$tmp/janus.log" >&2
    janus_note="not measured: janus did not start (its log's tail is on stderr)."
  else
    log "janus (pid $janus_pid, core $server_cpu) at http://127.0.0.1:$jport/janus, ICE on $media_ip"
    if ! taskset -c "$gen_cpu" "$tmp/loadgen" measure -server janus -url "http://127.0.0.1:$jport/janus" \
      -media-ip "$media_ip" -pid "$janus_pid" -out "$tmp/janus.json"; then
      janus_note="the leg failed partway (see stderr); only the points measured are shown."
      grep -E 'ERR|WARN' "$tmp/janus.log" | tail -20 >&2 || true
    fi
  fi
  stop_pid "$janus_pid"
fi

# --- LiveKit leg -------------------------------------------------------------
# One node (no Redis: LiveKit routes locally), the server the gateway tests
# run (scripts/livekit.sh builds it once), on 127.0.0.1 with loopback
# candidates; its clients are voipd's room/lk with tokens a gateway would
# mint.
livekit_note=""
livekit_version="not run"
if [[ $legs != *" livekit "* ]]; then
  livekit_note="not measured: BENCH_FORWARD_LEGS left it out."
elif ! lk_bin=$(scripts/livekit.sh); then
  livekit_note="not measured: scripts/livekit.sh could not build livekit-server."
fi
if [ -z "$livekit_note" ]; then
  livekit_version=$("$lk_bin" --version | awk '{print $NF}')
  free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }
  lk_port=$(free_port tcp)
  lk_udp=$(free_port udp)
  lk_key=APIbench
  lk_secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  cat >"$tmp/livekit.yaml" <<LKEOF
port: $lk_port
bind_addresses: ["127.0.0.1"]
keys:
  $lk_key: $lk_secret
rtc:
  udp_port: $lk_udp
  tcp_port: 0
  use_external_ip: false
  node_ip: 127.0.0.1
  enable_loopback_candidate: true
  stun_servers: ["127.0.0.1:9"]
  interfaces:
    includes: ["lo"]
  ips:
    includes: ["127.0.0.0/8"]
turn:
  enabled: false
logging:
  level: warn
LKEOF
  taskset -c "$server_cpu" "$lk_bin" --config "$tmp/livekit.yaml" >"$tmp/livekit.log" 2>&1 &
  lk_pid=$!
  pids+=("$lk_pid")
  if ! wait_for port_open "$lk_port"; then
    tail -20 "$tmp/livekit.log" >&2
    livekit_note="not measured: livekit-server did not start (its log's tail is on stderr)."
  else
    log "livekit-server $livekit_version (pid $lk_pid, core $server_cpu) at ws://127.0.0.1:$lk_port"
    if ! taskset -c "$gen_cpu" "$tmp/loadgen" measure -server livekit -url "ws://127.0.0.1:$lk_port" \
      -api-key "$lk_key" -api-secret "$lk_secret" -pid "$lk_pid" -out "$tmp/livekit.json"; then
      livekit_note="the leg failed partway (see stderr); only the points measured are shown."
      tail -20 "$tmp/livekit.log" >&2
    fi
  fi
  stop_pid "$lk_pid"
fi

janus_version=$(dpkg-query -W -f='${Version}' janus 2>/dev/null || echo "not installed")
pion=$(awk '$1=="github.com/pion/webrtc/v4"{print $2}' go.mod)
"$tmp/loadgen" report -roomd "$tmp/roomd.json" -janus "$tmp/janus.json" -janus-note "$janus_note" \
  -livekit "$tmp/livekit.json" -livekit-note "$livekit_note" \
  -versions "$(go version | awk '{print $3}'), roomd on pion/webrtc $pion, Janus $janus_version (Debian), LiveKit $livekit_version (livekit-server, one node)"
