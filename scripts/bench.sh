#!/usr/bin/env bash
# make bench: runs the hot-path benchmarks beside their anchors in one run
# and writes docs/BENCHMARKS.md with each figure as a ratio to its anchor.
# The anchors: libopus called directly (hraban/opus, the same frame and
# settings) for our per-frame send and receive paths.
# The previous run's table is kept below the new one, so a regression shows.
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/BENCHMARKS.md
mkdir -p docs
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

count=${BENCH_COUNT:-5}
go test -run '^$' -bench 'Benchmark(AnchorLibopusEncode|AnchorLibopusDecode|Encode|Decode)$' -benchmem -count "$count" ./codec/opus >>"$raw"
go test -run '^$' -bench 'Benchmark(SendFrame|ReceiveFrame|ReceiveFrame4Members)$' -benchmem -count "$count" ./media >>"$raw"

# median ns/op and allocs/op of a benchmark over its runs
stat() {
  local lines ns al
  lines=$(grep -E "^$1-[0-9]+ " "$raw")
  ns=$(awk '{for(i=1;i<=NF;i++) if($(i)=="ns/op") print $(i-1)}' <<<"$lines" | sort -g | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
  al=$(awk '{for(i=1;i<=NF;i++) if($(i)=="allocs/op") print $(i-1)}' <<<"$lines" | tail -1)
  echo "$ns $al"
}
row() { # name what anchor anchor-label [times the anchor runs in ours]
  read -r ns al < <(stat "$1")
  read -r ans _ < <(stat "$3")
  ans=$(awk -v a="$ans" -v m="${5:-1}" 'BEGIN{print a*m}')
  ratio=$(awk -v a="$ns" -v b="$ans" 'BEGIN{printf "%.2f", a/b}')
  printf '| %s | %.1f µs | %s | %s | %.1f µs | %s× |\n' "$2" "$(awk -v a="$ns" 'BEGIN{print a/1000}')" "$al" "$4" "$(awk -v a="$ans" 'BEGIN{print a/1000}')" "$ratio"
}

prev=""
if [ -f "$out" ]; then
  prev=$(awk '/^## This run/{f=1;next} /^## Previous run/{f=0} f' "$out")
fi

{
  echo "# Benchmarks"
  echo
  echo "Written by \`make bench\` (scripts/bench.sh). Each figure is the median of $count runs, measured in the same"
  echo "run as its anchor; the ratio is ours ÷ anchor (lower is better). The machine is shared and noisy: read"
  echo "ratios, not absolute times."
  echo
  echo "## This run"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(go version | awk '{print $3}'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), libopus $(pkg-config --modversion opus)"
  echo
  echo "| path (one 20 ms frame, 48 kHz mono, 32 kbit/s, FEC, DTX) | ours | allocs/op | anchor | anchor time | ratio |"
  echo "| --- | --- | --- | --- | --- | --- |"
  row BenchmarkEncode "codec/opus Encode" BenchmarkAnchorLibopusEncode "libopus encode (hraban/opus)"
  row BenchmarkSendFrame "media send: encode + packetise + WriteRTP" BenchmarkAnchorLibopusEncode "libopus encode"
  row BenchmarkDecode "codec/opus Decode" BenchmarkAnchorLibopusDecode "libopus decode"
  row BenchmarkReceiveFrame "media receive: jitter + decode + mix (1 member)" BenchmarkAnchorLibopusDecode "libopus decode"
  row BenchmarkReceiveFrame4Members "media receive, 4 members" BenchmarkAnchorLibopusDecode "4 × libopus decode" 4
  if [ -n "$prev" ]; then
    echo
    echo "## Previous run"
    echo "$prev"
  fi
} >"$out"
echo "bench: wrote $out"
cat "$out"
