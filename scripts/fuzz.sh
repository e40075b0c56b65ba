#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (func FuzzXxx in a _test.go
# file), one at a time, each for FUZZTIME (default 60s; "1000000x" runs a
# number of executions instead), and prints per target the executions it
# reached and whether it failed. Exits 1 if any target found a failing
# input (go test writes it to the package's testdata/fuzz/FuzzXxx/, where
# plain `go test` then runs it as a regression case).
#
#   FUZZTIME=60s           time (or NNNx executions) per target
#   FUZZPARALLEL=1         fuzzing workers per target (-parallel)
#   FUZZMINIMIZETIME=10s   time spent minimising each new input (-fuzzminimizetime)
#   FUZZTARGETS=REGEX      only targets whose "package/FuzzName" matches (grep -E)
#   FUZZLOGDIR=DIR         where each target's full output goes (default: a temp dir)
set -uo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-60s}
FUZZPARALLEL=${FUZZPARALLEL:-1}
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-10s}
FUZZTARGETS=${FUZZTARGETS:-.}
FUZZLOGDIR=${FUZZLOGDIR:-$(mktemp -d -t voipd-fuzz.XXXXXX)}
mkdir -p "$FUZZLOGDIR"

# Targets, as "dir name" lines: the fuzz functions declared in test files,
# outside testdata and the module cache.
mapfile -t targets < <(
	git ls-files --cached --others --exclude-standard -- '*_test.go' |
		grep -v '/testdata/' |
		xargs grep -HoE '^func Fuzz[A-Za-z0-9_]*\(' |
		sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#\1 \2#; s#^[^/ ]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\($#. \1#' |
		sort -u
)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi

echo "fuzz: ${#targets[@]} targets, $FUZZTIME each, $FUZZPARALLEL worker(s); logs in $FUZZLOGDIR"
failed=0
results=()
for t in "${targets[@]}"; do
	dir=${t% *}
	name=${t#* }
	if ! grep -qE -- "$FUZZTARGETS" <<<"$dir/$name"; then
		continue
	fi
	log="$FUZZLOGDIR/$(tr / _ <<<"$dir")_$name.log"
	printf 'fuzz: %-20s %-24s ' "$dir" "$name"
	start=$SECONDS
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" \
		-parallel "$FUZZPARALLEL" "./$dir" >"$log" 2>&1
	rc=$?
	# The last progress line has the executions reached:
	# "fuzz: elapsed: 1m0s, execs: 1071759 (26439/sec), new interesting: 3 (total: 160)".
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -n1 | grep -oE '[0-9]+')
	execs=${execs:-0}
	if [ $rc -eq 0 ]; then
		status=ok
	else
		failed=1
		input=$(grep -oE 'testdata/fuzz/[^ ]+' "$log" | tail -n1)
		status="FAIL${input:+ (input: $dir/$input)}"
	fi
	printf '%12s execs %5ss  %s\n' "$execs" "$((SECONDS - start))" "$status"
	if [ $rc -ne 0 ]; then
		grep -E -- '--- FAIL|^\s+\S+_test\.go:[0-9]+:|panic:|hung|terminated' "$log" | head -n 20 | sed 's/^/      /'
	fi
	results+=("$dir $name $execs $status")
done

echo
echo "fuzz: summary (FUZZTIME=$FUZZTIME)"
printf '%-20s %-24s %12s  %s\n' package target execs result
for r in "${results[@]}"; do
	read -r dir name execs status <<<"$r"
	printf '%-20s %-24s %12s  %s\n' "$dir" "$name" "$execs" "$status"
done
if [ $failed -ne 0 ]; then
	echo "fuzz: a target failed; its input is kept under the package's testdata/fuzz (see above and $FUZZLOGDIR)" >&2
	exit 1
fi
