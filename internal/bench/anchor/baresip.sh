#!/usr/bin/env bash
# The baresip anchor of the call benchmarks: two Debian 12 baresip 1.0.0
# instances (package baresip-core) calling each other on 127.0.0.1 with
# Opus 48 kHz mono, 20 ms packets, a synthetic 440 Hz source (ausine) and no
# audio player at all (received packets are still decoded; see BARESIP.md).
#
# Usage: baresip.sh WORKDIR SECONDS
#
# stdout, one item per line (logs and errors go to WORKDIR and stderr):
#   pidA=<pid>        } printed as soon as both sides log "Call established",
#   pidB=<pid>        } then the call runs for SECONDS
#   check: ...        what was verified after hang-up (codec, ptime, mono,
#                     packets each way); a failed check is "check: FAIL ..."
# Exit: 0 all checks passed; 1 no call within 20 s, or a check failed;
#       2 usage error or baresip not installed.
#
# Only 127.0.0.1 is used: SIP and RTP bind there (net_interface 127.0.0.1,
# sip_listen 127.0.0.1:0), no registrar (regint=0), no STUN/TURN/ICE module,
# the DNS resolver is pointed at 127.0.0.1:53 and no name is ever looked up.
# No port is fixed: each SIP listener is kernel-picked (port 0) and B's is
# read back from /proc before A dials it; RTP ports are baresip's random pick.
set -euo pipefail

usage() { echo "usage: $0 WORKDIR SECONDS" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
workdir=$1
secs=$2
[[ $secs =~ ^[0-9]+$ && $secs -ge 1 ]] || usage

if ! command -v baresip >/dev/null 2>&1; then
	echo "baresip.sh: baresip is not installed: install Debian's baresip-core" \
		"(scripts/bench-deps.sh does; by hand: apt-get install baresip-core)" >&2
	exit 2
fi
moddir=/usr/lib/baresip/modules
for m in opus ausine menu account; do
	if [[ ! -e $moddir/$m.so ]]; then
		echo "baresip.sh: $moddir/$m.so missing: reinstall baresip-core" >&2
		exit 2
	fi
done

mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
ESTABLISH_TIMEOUT=20

# write_config DIR: the config shared by both sides (see BARESIP.md for why
# each line is there).
write_config() {
	cat >"$1/config" <<'EOF'
poll_method		epoll
sip_listen		127.0.0.1:0
net_interface		127.0.0.1
dns_server		127.0.0.1:53
call_local_timeout	120
call_max_calls		1
audio_source		ausine,440
ausrc_channels		2
audio_buffer		20-160
audio_level		no
rtp_stats		yes
rtcp_mux		no
jitter_buffer_delay	5-10
module_path		/usr/lib/baresip/modules
module			opus.so
module			ausine.so
module_tmp		account.so
module_app		menu.so
statmode_default	off
ringback_disabled	yes
opus_stereo		no
opus_sprop_stereo	no
opus_application	voip
opus_bitrate		32000
opus_complexity		9
opus_inbandfec		yes
opus_packet_loss	10
opus_dtx		yes
EOF
	: >"$1/contacts"
}

mkdir -p "$workdir/a" "$workdir/b"
write_config "$workdir/a"
write_config "$workdir/b"
echo '<sip:a@127.0.0.1>;regint=0;answermode=manual;audio_codecs=opus/48000/1;ptime=20;mwi=no' \
	>"$workdir/a/accounts"
echo '<sip:b@127.0.0.1>;regint=0;answermode=auto;audio_codecs=opus/48000/1;ptime=20;mwi=no' \
	>"$workdir/b/accounts"
loga=$workdir/a.log
logb=$workdir/b.log
: >"$loga"
: >"$logb"

pida=
pidb=
# shellcheck disable=SC2317 # run by the traps
cleanup() {
	local p
	for p in $pida $pidb; do
		if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

tails() {
	echo "--- tail $loga" >&2
	tail -n 40 "$loga" >&2 || true
	echo "--- tail $logb" >&2
	tail -n 40 "$logb" >&2 || true
}
die() { echo "baresip.sh: $*" >&2; tails; exit 1; }

# udp_port PID: the UDP port PID has bound on 127.0.0.1 (its SIP listener;
# at start-up it has no other socket on 127.0.0.1), from /proc alone.
udp_port() {
	local pid=$1 inodes f la inode
	inodes=" "
	for f in /proc/"$pid"/fd/*; do
		f=$(readlink "$f" 2>/dev/null) || continue
		[[ $f =~ ^socket:\[([0-9]+)\]$ ]] && inodes+="${BASH_REMATCH[1]} "
	done
	# fields: sl local_address rem_address st tx:rx tr:tm retrnsmt uid timeout inode
	while read -r _ la _ _ _ _ _ _ _ inode _; do
		[[ $la == 0100007F:* && $inodes == *" $inode "* ]] || continue
		echo $((16#${la#*:}))
		return 0
	done </proc/net/udp
	return 1
}

# Both quit by themselves well after the planned end, should this script be
# killed without its EXIT trap running.
maxt=$((secs + ESTABLISH_TIMEOUT + 60))

# -4: IPv4 only; -s: SIP trace in the log (the SDP of offer and answer is
# checked below); -f: the config dir; stdin is /dev/null (no UI module).
baresip -4 -s -t "$maxt" -f "$workdir/b" </dev/null >"$logb" 2>&1 &
pidb=$!

t0=$SECONDS
portb=
while [[ -z $portb ]] || ! grep -q 'baresip is ready' "$logb"; do
	kill -0 "$pidb" 2>/dev/null || die "baresip B exited at start-up"
	((SECONDS - t0 < ESTABLISH_TIMEOUT)) || die "baresip B not ready (SIP port on 127.0.0.1: '${portb}')"
	[[ -n $portb ]] || portb=$(udp_port "$pidb") || portb=
	sleep 0.1
done

baresip -4 -s -t "$maxt" -f "$workdir/a" -e "/dial sip:b@127.0.0.1:$portb" \
	</dev/null >"$loga" 2>&1 &
pida=$!

while ! { grep -q 'Call established' "$loga" && grep -q 'Call established' "$logb"; }; do
	kill -0 "$pida" 2>/dev/null || die "baresip A exited before the call was established"
	kill -0 "$pidb" 2>/dev/null || die "baresip B exited before the call was established"
	((SECONDS - t0 < ESTABLISH_TIMEOUT)) || die "no call established within ${ESTABLISH_TIMEOUT}s"
	sleep 0.1
done
echo "pidA=$pida"
echo "pidB=$pidb"
tstart=$(date +%s.%N)

# In the background, so that a TERM/INT to this script is acted on at once.
sleep "$secs" &
wait $!

# Hang up: SIGTERM makes baresip stop its user agents, which ends the call
# with a BYE and prints the RTP statistics (rtp_stats yes). A first, then B
# once it has seen the BYE.
tend=$(date +%s.%N)
kill -TERM "$pida"
t1=$SECONDS
while ! grep -q 'terminated (duration' "$logb" && ((SECONDS - t1 < 5)); do sleep 0.1; done
kill -TERM "$pidb" 2>/dev/null || true
for p in "$pida" "$pidb"; do
	while kill -0 "$p" 2>/dev/null && ((SECONDS - t1 < 10)); do sleep 0.1; done
	if kill -0 "$p" 2>/dev/null; then
		echo "baresip.sh: pid $p did not stop in 10 s, killing it" >&2
		kill -KILL "$p" 2>/dev/null || true
	fi
	wait "$p" 2>/dev/null || true
done

# ---- checks -----------------------------------------------------------------
fail=0
check() { # check OK|FAIL text
	if [[ $1 == OK ]]; then echo "check: $2"; else echo "check: FAIL $2"; fail=1; fi
}

# Codec, mono, ptime: both sides set Opus 48 kHz, 1 channel, as encoder and
# decoder; offer (in A's trace) and answer (in B's) carry stereo=0 and ptime 20.
for side in A B; do
	log=$loga; [[ $side == B ]] && log=$logb
	if grep -q 'Set audio encoder: opus 48000Hz 1ch' "$log" &&
		grep -q 'Set audio decoder: opus 48000Hz 1ch' "$log"; then
		check OK "$side codec: encoder and decoder opus 48000Hz 1ch (mono)"
	else
		check FAIL "$side codec: no 'Set audio encoder/decoder: opus 48000Hz 1ch' in $log"
	fi
	# The trace holds both the offer and the answer: each must say so.
	sdp=$(tr -d '\r' <"$log" | grep '^a=' || true)
	n_map=$(grep -c '^a=rtpmap:[0-9]* opus/48000/2$' <<<"$sdp" || true)
	n_mono=$(grep -c '^a=fmtp:[0-9]* stereo=0;sprop-stereo=0' <<<"$sdp" || true)
	n_pt=$(grep -c '^a=ptime:' <<<"$sdp" || true)
	n_pt20=$(grep -c '^a=ptime:20$' <<<"$sdp" || true)
	if ((n_map >= 2 && n_mono >= 2 && n_pt >= 2 && n_pt20 == n_pt)) &&
		grep -q 'ausine: audio ptime=20' "$log"; then
		check OK "$side SDP offer+answer: opus/48000/2 stereo=0;sprop-stereo=0 a=ptime:20; source ptime=20"
	else
		check FAIL "$side SDP: want offer and answer with opus/48000/2, stereo=0;sprop-stereo=0, a=ptime:20 only, in $log"
	fi
done

# Packets each way, from the rtp_stats block ("packets:  <tx>  <rx>"), and the
# rate they imply: 50/s each way is 20 ms packets.
dur=$(awk -v a="$tstart" -v b="$tend" 'BEGIN { printf "%.2f", b - a }')
for side in A B; do
	log=$loga; [[ $side == B ]] && log=$logb
	read -r tx rx < <(awk '/^packets:/ { tx = $2; rx = $3 } END { print tx + 0, rx + 0 }' "$log")
	errs=$(awk '/^errors:/ { e = $2 + $3 } END { print e + 0 }' "$log")
	kbps=$(awk '/^avg. bitrate:/ { b = $3 "/" $4 } END { print b }' "$log")
	lo=$(awk -v d="$dur" 'BEGIN { printf "%d", 50 * d * 0.9 }')
	hi=$(awk -v d="$dur" 'BEGIN { printf "%d", 50 * (d + 3) }')
	rates=$(awk -v t="$tx" -v r="$rx" -v d="$dur" 'BEGIN { printf "%.1f/%.1f", t / d, r / d }')
	if ((tx >= lo && tx <= hi && rx >= lo && rx <= hi && errs == 0)); then
		check OK "$side RTP: tx=$tx rx=$rx packets, errors=0, in ${dur}s = $rates pkt/s (20 ms ptime = 50/s), avg tx/rx $kbps kbit/s"
	else
		check FAIL "$side RTP: tx=$tx rx=$rx errors=$errs in ${dur}s ($rates pkt/s); want each in [$lo,$hi], no errors"
	fi
done

if ((fail)); then
	tails
	exit 1
fi
exit 0
