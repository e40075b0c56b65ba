#!/usr/bin/env bash
# make bench: measures voipd beside its anchors in one run and writes
# docs/BENCHMARKS.md with each figure as a ratio to its anchor, the issue's
# goal and whether it is met. The previous run's section is kept below the
# new one, so a regression shows.
#
#   Opus  codec/opus and media/pipeline's per-frame paths vs a C loop over libopus
#         (internal/bench/anchor/opus_loop.c) and hraban/opus
#   VP8   media/pipeline's YUYV → I420 → encode → packetise vs a C loop over libvpx
#         (anchor/vpx_loop.c) and ffmpeg -c:v libvpx, on the same frames
#   start-up, join, the two-member video call vs Chromium, GC, mouth to ear:
#         internal/bench/cmd/voipbench
#   voice the two-member voice call vs baresip (anchor/baresip.sh), the codec alone,
#         and the price of a bare wakeup on this machine (anchor/wakeup.c)
#
# Environment (defaults are the issue's values):
#   BENCH_COUNT=10           interleaved rounds of the micro-benchmarks
#   BENCH_TIME=0.5s          -test.benchtime of each Go benchmark in a round
#   BENCH_STARTS=20          starts per configuration
#   BENCH_JOINS=50           joins per room type
#   BENCH_FIRST_FRAMES=5     joins timed to Chromium's first decoded frame
#   BENCH_CALL_SECONDS=30    measured window of each two-member call
#   BENCH_GC_SECONDS=60      window of voipd's heap allocation and GC figures in its call
#   BENCH_BEFORE=8a4ae71     commit whose voipd makes the same call for the allocation ratio ("" skips)
#   BENCH_M2E_SECONDS=20     mouth-to-ear call length (a click every 0.5 s)
#   BENCH_VOICE_SECONDS=30   measured window of each voice call (voipd, baresip) and of idle voipd
#   BENCH_VOICE_ROUNDS=2     turns of each voice call, interleaved
#   BENCH_CLIENT_CPU=0       the CPU the measured code runs on (taskset)
#   BENCH_LOAD_CPU=1         the CPU roomd, the driver and Chromium's driver run on
#   BENCH_CHROMIUM=1         0 skips the Chromium call (no anchor figures)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bench-deps.sh
out=docs/BENCHMARKS.md
mkdir -p docs
work=$(mktemp -d /tmp/voipd-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
raw=$work/raw

load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
count=${BENCH_COUNT:-10}
benchtime=${BENCH_TIME:-0.5s}
client_cpu=${BENCH_CLIENT_CPU:-0}
load_cpu=${BENCH_LOAD_CPU:-1}
if [ "$(nproc)" -lt 2 ]; then client_cpu="" load_cpu=""; fi
on() { # on CPU CMD...: runs CMD pinned to CPU when pinning is on
  local cpu=$1; shift
  if [ -n "$cpu" ]; then taskset -c "$cpu" "$@"; else "$@"; fi
}

echo "bench: building into $work"
# The programs are installed from the build output as a package or `install`
# would put them on a kiosk: the Go linker writes its output through mmap,
# which leaves the file in large page-cache folios (4 MB seen here) that a
# 6.x kernel maps whole on the first touch, so a binary run from the build
# directory shows several MB more RSS than the same binary installed.
go build -o "$work/build/" ./cmd/... ./internal/bench/cmd/...
mkdir -p "$work/bin"
for f in "$work"/build/*; do install -m 755 "$f" "$work/bin/"; done
rm -rf "$work/build"
for p in codec/opus codec/apm media/pipeline codec/vp8; do go test -c -o "$work/$(basename "$p").test" "./$p"; done
gcc -O2 -Wall -o "$work/opus_loop" internal/bench/anchor/opus_loop.c $(pkg-config --cflags --libs opus) -lm
gcc -O2 -Wall -o "$work/vpx_loop" internal/bench/anchor/vpx_loop.c $(pkg-config --cflags --libs vpx)
gcc -O2 -Wall -pthread -o "$work/wakeup" internal/bench/anchor/wakeup.c
"$work/bin/voipbench" frames -o "$work/f640.yuv" -w 640 -h 480
"$work/bin/voipbench" frames -o "$work/f1280.yuv" -w 1280 -h 720

# ffmpeg_vp8 W H LOOPS: ffmpeg's CPU time (user+sys) per frame over the
# same 30 frames looped, printed as a benchmark line.
ffmpeg_vp8() {
  local w=$1 h=$2 loops=$3 line u s
  command -v ffmpeg >/dev/null || return 0
  line=$(on "$client_cpu" ffmpeg -hide_banner -nostats -benchmark -f rawvideo -pix_fmt yuv420p -s "${w}x$h" -r 30 \
    -stream_loop "$((loops - 1))" -i "$work/f$w.yuv" -c:v libvpx -deadline realtime -cpu-used -6 -threads 1 \
    -b:v 800k -minrate 800k -maxrate 800k -error-resilient default -lag-in-frames 0 -static-thresh 1 \
    -max-intra-rate 900 -undershoot-pct 100 -overshoot-pct 15 -qmin 2 -qmax 56 -g 90 -f null - 2>&1 | grep '^bench: utime') || return 0
  u=$(sed -E 's/.*utime=([0-9.]+)s.*/\1/' <<<"$line"); s=$(sed -E 's/.*stime=([0-9.]+)s.*/\1/' <<<"$line")
  awk -v u="$u" -v s="$s" -v n="$((loops * 30))" -v w="$w" -v h="$h" 'BEGIN{printf "BenchmarkFFmpegVP8Encode%dx%d-1 %d %.1f ns/op\n", w, h, n, (u+s)*1e9/n}'
}

# Rounds interleave ours and the anchors, so a burst of load from the
# shared machine hits both sides of a ratio alike; each figure is the
# median of its rounds.
for r in $(seq "$count"); do
  echo "bench: micro-benchmarks, round $r of $count"
  on "$client_cpu" "$work/opus_loop" 1 5000 >>"$raw"
  (cd codec/opus && on "$client_cpu" "$work/opus.test" -test.run '^$' -test.bench 'Benchmark(AnchorLibopusEncode|AnchorLibopusDecode|Encode|Decode)$' -test.benchmem -test.benchtime "$benchtime" >>"$raw")
  (cd codec/apm && on "$client_cpu" "$work/apm.test" -test.run '^$' -test.bench 'BenchmarkFrame$' -test.benchmem -test.benchtime "$benchtime" >>"$raw")
  (cd media/pipeline && on "$client_cpu" "$work/pipeline.test" -test.run '^$' -test.bench 'Benchmark(SendFrame|ReceiveFrame|ReceiveFrame4Members|VideoSendFrame640x480|VideoSendFrame1280x720)$' -test.benchmem -test.benchtime "$benchtime" >>"$raw")
  (cd codec/vp8 && on "$client_cpu" "$work/vp8.test" -test.run '^$' -test.bench 'BenchmarkAnchorVP8Encode(640x480|1280x720)$' -test.benchmem -test.benchtime "$benchtime" >>"$raw")
  on "$client_cpu" "$work/vpx_loop" "$work/f640.yuv" 640 480 1 300 >>"$raw"
  on "$client_cpu" "$work/vpx_loop" "$work/f1280.yuv" 1280 720 1 120 >>"$raw"
  ffmpeg_vp8 640 480 10 >>"$raw"
  ffmpeg_vp8 1280 720 4 >>"$raw"
done

# Sections from voipbench, each in its own file; a failed one says so.
section() { # section NAME ARGS...
  local name=$1; shift
  echo "bench: $name"
  if ! on "$load_cpu" "$work/bin/voipbench" "$@" -bin "$work/bin" -client-cpu "$client_cpu" >"$work/$name.md"; then
    printf '### %s\n\n**Failed in this run**: see the output of `make bench`.\n' "$name" >"$work/$name.md"
  fi
}
section startup startup -n "${BENCH_STARTS:-20}"
section join join -n "${BENCH_JOINS:-50}" -first-frame "${BENCH_FIRST_FRAMES:-5}"
chromium=true; [ "${BENCH_CHROMIUM:-1}" = 0 ] && chromium=false
section call call -seconds "${BENCH_CALL_SECONDS:-30}" -gc-seconds "${BENCH_GC_SECONDS:-60}" -before "${BENCH_BEFORE-8a4ae71}" -chromium="$chromium"
section m2e m2e -seconds "${BENCH_M2E_SECONDS:-20}"
section voice voice -seconds "${BENCH_VOICE_SECONDS:-30}" -rounds "${BENCH_VOICE_ROUNDS:-2}" -wakeup "$work/wakeup"

# roomd vs Janus forwarding: its own engineer's section (hook).
section_file=$work/janus.md
: >"$section_file"
# --- janus hook: internal/bench/janus/run.sh prints its markdown section ---
if [ -x internal/bench/janus/run.sh ]; then internal/bench/janus/run.sh >>"$section_file" || echo "**The Janus comparison failed in this run.**" >>"$section_file"; fi
# --- end janus hook ---

echo "bench: profile"
if ! on "$load_cpu" scripts/bench-profile.sh "$work/bin" "${BENCH_PROFILE_SECONDS:-15}" >"$work/profile.md"; then
  printf '### Where a video call'"'"'s CPU goes\n\n**Failed in this run**: see the output of `make bench`.\n' >"$work/profile.md"
fi

# Echo: cmd/voipd's PulseAudio test, its figures as a table.
echo "bench: echo"
go test -c -o "$work/voipd.test" ./cmd/voipd
if (cd cmd/voipd && "$work/voipd.test" -test.run '^TestEchoCancellationOverPulse$' -test.v >"$work/echo.log" 2>&1) &&
  (cd codec/apm && "$work/apm.test" -test.run '^TestCancelsLinearEcho$' -test.v >>"$work/echo.log" 2>&1); then
  {
    echo "### Echo: what the far end gets back"
    echo
    echo "cmd/voipd's TestEchoCancellationOverPulse: a far end talks (the synthetic voice) to a panel on PulseAudio"
    echo "whose speaker (a null sink) reaches its microphone (another null sink's monitor) 30 ms later through"
    echo "module-loopback, a linear echo path. ERLE is the echo the microphone heard over what the far end received"
    echo "from the panel, per 1 s window from the first echo, capped at 60 dB (the far end heard next to nothing;"
    echo "the panel sends without DTX so the residual is coded, not replaced). The anchor is PulseAudio's own"
    echo "module-echo-cancel (aec_method=webrtc, the same library at its defaults) in front of a voipd with its"
    echo "processing off, measured in the same run; \"none\" has no processing anywhere. The synthetic rows are"
    echo "codec/apm's own test: the canceller alone on a fixed interleaving, a 60 ms echo through reflections of"
    echo "speech-like sound, with the delay reported, under-reported, the speaker's clock 50 ppm off, and the"
    echo "echo's delay jumping by 20 ms at 6 s (uncapped; no mean)."
    echo
    echo "| set-up | first second | median after 3 s | lowest after 3 s | mean |"
    echo "| --- | --- | --- | --- | --- |"
    awk '/echo-row/ { for (i = 1; i <= NF; i++) if ($i == "echo-row") {
      name = $(i+1); gsub(/_/, " ", name); mean = ($(i+5) == "-") ? "—" : $(i+5) " dB"
      printf "| %s | %s dB | %s dB | %s dB | %s |\n", name, $(i+2), $(i+3), $(i+4), mean } }' "$work/echo.log"
  } >"$work/echo.md"
else
  printf '### Echo: what the far end gets back\n\n**Failed in this run**: see %s.\n' "$work/echo.log" >"$work/echo.md"
fi

# The browser page's first load: roomd's TestPageFirstPaint, its figures as a table.
echo "bench: paint"
go test -c -o "$work/roomd.test" ./roomd
if (cd roomd && VOIPD_PAINT_ROUNDS=${BENCH_PAINT_ROUNDS:-5} on "$client_cpu" "$work/roomd.test" -test.run '^TestPageFirstPaint$' -test.v >"$work/paint.log" 2>&1); then
  {
    echo "### Browser page: first paint"
    echo
    echo "roomd's TestPageFirstPaint: the page's first load in a fresh headless Chromium (empty cache) from roomd"
    echo "on loopback, by Chromium's own timings (first contentful paint and the load event's end, from the"
    echo "navigation's start; median of ${BENCH_PAINT_ROUNDS:-5} rounds). The anchor, loaded in the same rounds"
    echo "interleaved, is a minimal HTML page (one heading) from a server in the test: the floor of a first paint"
    echo "in this Chromium on this machine. Bytes are what crossed the wire (gzipped where the browser accepts it,"
    echo "headers included). Goal (issue 20): first paint under 1 s on loopback."
    echo
    echo "| page | first contentful paint | load event end | bytes transferred | files | first paint ÷ anchor |"
    echo "| --- | --- | --- | --- | --- | --- |"
    awk '/paint-row/ { for (i = 1; i <= NF; i++) if ($i == "paint-row") { name = $(i+1); fcp[name] = $(i+2);
      load[name] = $(i+3); kb[name] = $(i+4); files[name] = $(i+5) } }
      END { for (n in fcp) printf "| %s | %s ms | %s ms | %s KB | %s | %s |\n",
        (n == "page" ? "roomd'"'"'s page" : "anchor: minimal HTML"), fcp[n], load[n], kb[n], files[n],
        (fcp["anchor"] > 0 ? sprintf("%.2f×", fcp[n] / fcp["anchor"]) : "—") }' "$work/paint.log" | sort -r
  } >"$work/paint.md"
else
  printf '### Browser page: first paint\n\n**Failed in this run**: see %s.\n' "$work/paint.log" >"$work/paint.md"
fi

"$work/bin/voipbench" micro -raw "$raw" >"$work/micro.md"
echo "bench: vp8speed"
if ! on "$client_cpu" "$work/bin/voipbench" vp8speed >"$work/vp8speed.md"; then
  printf '### VP8 speed against picture quality\n\n**Failed in this run**: see the output of `make bench`.\n' >"$work/vp8speed.md"
fi

prev=""
if [ -f "$out" ]; then
  prev=$(awk '/^## This run/{f=1;next} /^## Previous run/{f=0} f' "$out")
fi
pin="unpinned (fewer than 2 CPUs)"
if [ -n "$client_cpu" ]; then
  pin="the measured code (micro-benchmarks, C loops, ffmpeg, voipd, Chromium's process trees) on CPU $client_cpu; roomd, the bench driver and its Chromium control on CPU $load_cpu (taskset)"
fi
{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh, internal/bench). Each figure is measured in the same run as its"
  echo "anchor and shown as ours ÷ anchor (lower is better), beside the goal of the issue that asked for it."
  echo
  echo "Noise: the machine has 2 cores and is shared (other builds and tests run on it; the load average when"
  echo "this run started is below). So: ours and the anchors run interleaved, round by round (a burst of load hits"
  echo "both sides of a ratio alike), the micro-benchmarks report the fastest round beside the median ratio, the"
  echo "process measurements report medians and percentiles, and the measured processes are pinned apart from"
  echo "the load: $pin."
  echo "Read the ratios, not the absolute times, and compare with the previous run below before calling a change"
  echo "a regression."
  echo
  echo "## This run"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(go version | awk '{print $3}'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"
  echo "load average at start $load_at_start; libopus $(pkg-config --modversion opus), libvpx $(pkg-config --modversion vpx),"
  echo "$(gcc --version | head -1), $(ffmpeg -version 2>/dev/null | head -1 | awk '{print $1, $3}'), $(chromium --version 2>/dev/null | head -1)."
  echo "Settings: BENCH_COUNT=$count BENCH_TIME=$benchtime BENCH_STARTS=${BENCH_STARTS:-20} BENCH_JOINS=${BENCH_JOINS:-50} BENCH_FIRST_FRAMES=${BENCH_FIRST_FRAMES:-5}"
  echo "BENCH_CALL_SECONDS=${BENCH_CALL_SECONDS:-30} BENCH_GC_SECONDS=${BENCH_GC_SECONDS:-60} BENCH_M2E_SECONDS=${BENCH_M2E_SECONDS:-20}"
  echo "BENCH_VOICE_SECONDS=${BENCH_VOICE_SECONDS:-30} BENCH_VOICE_ROUNDS=${BENCH_VOICE_ROUNDS:-2} BENCH_PAINT_ROUNDS=${BENCH_PAINT_ROUNDS:-5}."
  for s in micro echo paint vp8speed startup join call voice profile m2e; do
    echo
    cat "$work/$s.md"
  done
  echo
  if [ -s "$section_file" ]; then
    cat "$section_file"
  else
    echo "### roomd vs Janus forwarding"
    echo
    echo "Not measured yet: internal/bench/janus/run.sh is not there."
  fi
  echo
  echo "### Not measured yet"
  echo
  echo "- Mouth to ear runs on synthetic devices (voipd's click source and detector, paced at 48 kHz): a sound"
  echo "  card's own buffering (its period count, a malgo device's ring) is not in the figure."
  echo "- Chromium is not measured on the join → result path (its join is not a control-socket request), nor on"
  echo "  mouth to ear: the join and mouth-to-ear figures have goals, not anchors."
  echo "- Every process measurement uses synthetic devices (tone, a null speaker (in the video call miniaudio's"
  echo "  null backend through malgo), pattern camera; Chromium's fake devices): no sound card, no V4L2 camera,"
  echo "  no MJPEG decoding in the call figures."
  if [ -n "$prev" ]; then
    echo
    echo "## Previous run"
    echo "$prev"
  fi
} >"$out"
echo "bench: wrote $out"
