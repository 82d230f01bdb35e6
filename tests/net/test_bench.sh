#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The data-path benchmark's own checks, not its timing: with few iterations,
# build/tools/bench_datapath must still take, in every case, the path the
# case is named for. Its "check" column says so per case: the verdict of
# every run, the data path's reason counter moved by exactly the
# iterations and no other, flows created (or not) as the case intends. A
# change to the data path or to the benchmark's wrapper that makes a case
# measure something else then fails here, not silently in a table of
# figures. No figure is asserted (benchmarks are never timed in tests).
# bench_datapath makes its own network namespace (unshare), so this needs
# no test bed. TAP on stdout.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

BIN=build/tools/bench_datapath
T=$(mktemp -d /tmp/vipxdp-bench.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
N=0
FAILED=0

result() {
	N=$((N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $N - $2"
	else
		echo "not ok $N - $2"
		FAILED=1
		sed 's/^/# /' "$T/why"
		# On stderr too, which prove shows without -v: the reason
		# reaches CI's log.
		sed "s/^/# test $N: /" "$T/why" >&2
	fi
}

echo "1..6"
if [ ! -x "$BIN" ]; then
	echo "Bail out! $BIN not found: run 'make' first"
	exit 1
fi

# 1. Every case, small: 2^12 flows for the cycling case, 20007 iterations
# a run (a multiple of case 10's nine packets), one run each. Case 4's
# conntrack lookup alone (the reference beside it) must find its flow in
# every one of its runs' iterations, which the driver counts ("ok").
"$BIN" --runs 1 --iters 20007 --cycle-log2 12 --ct-large 16384 >"$T/out" 2>&1
rc=$?
{
	lines=$(grep -cE '^[0-9]+ ' "$T/out")
	oks=$(grep -E '^[0-9]+ ' "$T/out" | grep -cE '(ok|ok:) ')
	cases=$(grep -E '^[0-9]+ ' "$T/out" | awk '{ print $1 }' | sort -un | tr '\n' ' ')
	echo "exit $rc; $lines result lines, $oks with an ok check; cases: $cases"
	grep -E '^[0-9]+ ' "$T/out" | grep -vE '(ok|ok:) '
	[ "$rc" -eq 0 ] && [ "$lines" -eq 12 ] && [ "$oks" -eq 12 ] &&
		[ "$cases" = "1 2 3 4 5 6 7 8 9 10 11 " ] &&
		grep -qE "^11 +established, 4096 flows scattered .* W\+S' +REDIRECT +ok: " "$T/out" &&
		grep -q '^memory (case 4): a dependent read of a random cache line' "$T/out" &&
		grep -qE '^case 4 less the memory reference: -?[0-9]+\.[0-9] ns, ' "$T/out" &&
		grep -qE "^through the wrapper as the data path, its runs alternating with the case's \(ok: [1-9][0-9]* lookups, 0 found nothing\): -?[0-9]+\.[0-9] ns;$" "$T/out" &&
		grep -qE '^case 4 less the lookup, run by run: -?[0-9]+\.[0-9] ns \(-?[0-9.]+\.\.-?[0-9.]+\), what the rest of the path costs$' "$T/out"
} >"$T/why"
st=$?
[ "$st" -eq 0 ] || cat "$T/out" >>"$T/why"
result "$st" "bench_datapath: all eleven cases (and the non-VIP cross-check) take their intended path"

# variant N LINE DESC ARGS...: bench_datapath --runs 1 --iters 20007 ARGS
# exits 0 with N ok checks and a header line starting with LINE (the
# setting it ran with); test result DESC.
variant() {
	local n=$1 line=$2 desc=$3 rc oks
	shift 3
	"$BIN" --runs 1 --iters 20007 "$@" >"$T/out" 2>&1
	rc=$?
	{
		oks=$(grep -E '^[0-9]+ ' "$T/out" | grep -cE ' ok: ')
		echo "exit $rc; $oks ok checks of $n"
		grep -q "^$line" "$T/out" || echo "no '$line' line"
		[ "$rc" -eq 0 ] && [ "$oks" -eq "$n" ] && grep -q "^$line" "$T/out"
	} >"$T/why"
	st=$?
	[ "$st" -eq 0 ] || cat "$T/out" >>"$T/why"
	result "$st" "$desc"
}

# 2. Without the flow cache the cases still take their paths (the hot
# flows then go the whole way).
variant 6 'flow cache: off (--no-flow-cache)$' \
	"bench_datapath --no-flow-cache: the hot-flow cases take the whole path, checks ok" \
	--cases 3,5,7,8,9,10 --no-flow-cache

# 3. Routing not simple (as when the daemon finds policy rules or multipath
# routes): new flows look the FIB up instead of the next hop per backend.
variant 2 'next hops: route watch on, routing not simple' \
	"bench_datapath --no-simple-routing: new flows through the FIB, checks ok" \
	--cases 2,10 --no-simple-routing

# refused WANT_RC TEXT ARGS...: bench_datapath ARGS exits WANT_RC with TEXT
# in its output and measures nothing; else a line in $T/why and st=1.
refused() {
	local want=$1 text=$2 rc
	shift 2
	"$BIN" "$@" >"$T/out" 2>&1
	rc=$?
	if [ "$rc" -ne "$want" ] || ! grep -qF -- "$text" "$T/out"; then
		echo "bench_datapath $*: exit $rc, want $want and '$text': $(head -3 "$T/out")" >>"$T/why"
		st=1
	fi
	if grep -q '^#  case' "$T/out"; then
		echo "bench_datapath $*: measured cases" >>"$T/why"
		st=1
	fi
}

# 4. Wrong arguments: exit 2 and a message naming the option.
st=0
: >"$T/why"
for args in "--cases 12" "--cases 2,x" "--cycle-log2 30" "--ct-large 100" "--runs 0" "--iters 0" \
	"--repeat 0" "--repeat 21" "--bogus"; do
	# shellcheck disable=SC2086 # one word per argument
	refused 2 "${args%% *}" $args
done
result "$st" "bench_datapath rejects wrong arguments with exit 2 and a message"

# 5. --katran with what is not Katran's balancer: exit 1 and why, before
# anything is measured (the object is tried first).
st=0
: >"$T/why"
echo garbage >"$T/not-an-object.o"
refused 1 "--katran: opening $T/missing.o: No such file" --runs 1 --cases 3 --katran "$T/missing.o"
refused 1 "--katran: opening $T/not-an-object.o: " --runs 1 --cases 3 --katran "$T/not-an-object.o"
refused 1 "--katran: loading build/vipxdp.bpf.o: no program balancer_ingress" \
	--runs 1 --cases 3 --katran build/vipxdp.bpf.o
result "$st" "bench_datapath --katran: a missing file, a non-object and another program fail first, with the reason"

# 6. --repeat 3: three passes, each with its own table (every check ok),
# then the summary: a row per measured case with the median of the three
# figures (checked against the passes' own), and every target with how
# many passes met it (and, when the median misses it, that it does: these
# short runs on a busy machine can put even the non-VIP pass over 20 ns).
"$BIN" --repeat 3 --runs 1 --iters 20007 --cases 3,6 >"$T/out" 2>&1
rc=$?
{
	passes=$(grep -c '^== repeat [123] of 3 ==$' "$T/out")
	oks=$(grep -E '^[0-9]+ ' "$T/out" | grep -cE ' ok: ')
	hot=$(grep -E '^3  established, one hot flow ' "$T/out" | awk '{ print $6 }' | head -3 |
		sort -n | sed -n 2p)
	sum=$(sed -n '/^== summary of 3 repeats/,$p' "$T/out")
	echo "exit $rc; $passes passes; $oks ok checks (want 9); median of the passes' hot flow: $hot"
	echo "$sum"
	[ "$rc" -eq 0 ] && [ "$passes" -eq 3 ] && [ "$oks" -eq 9 ] &&
		echo "$sum" | grep -qE "^3  established, one hot flow +$hot ns" &&
		echo "$sum" | grep -qE '^established, one hot flow +50 .* [0-3] of 3( +\(median MISSES\))?$' &&
		echo "$sum" | grep -qE '^non-VIP pass +20 .* [0-3] of 3( +\(median MISSES\))?$' &&
		[ "$(echo "$sum" | grep -cE '^6  non-VIP pass')" -eq 2 ]
} >"$T/why"
st=$?
[ "$st" -eq 0 ] || cat "$T/out" >>"$T/why"
result "$st" "bench_datapath --repeat 3: a table per pass, then each figure's median over the passes"
exit "$FAILED"
