#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Benchmarks (`make bench`), part 1 (part 2, end to end through veth, is
# tools/bench_e2e.sh): ns/packet of the XDP data path through
# BPF_PROG_TEST_RUN (build/tools/bench_datapath; method in its output and in
# tools/bench_datapath.c). Extra arguments go to bench_datapath, e.g.
#   tools/bench.sh --runs 7 -v
#   tools/bench.sh --obj /tmp/proto/build/vipxdp.o     (a modified data path)
#   tools/bench.sh --repeat 5      (5 passes, each with the data path and its
#                                   maps loaded afresh; then medians, ranges)
# Part 2: the control plane at 1,000 VIPs x 100 backends (tools/bench_cp.sh,
# method in its header; run it alone for other sizes, e.g.
# tools/bench_cp.sh --vips 200 --runs 5).
# Run from anywhere, as root, after `make`.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=build/tools/bench_datapath
if [ "$(id -u)" -ne 0 ]; then
	echo "tools/bench.sh: the benchmark loads BPF programs and creates a network namespace: run as root" >&2
	exit 1
fi
if [ ! -x "$bin" ]; then
	echo "tools/bench.sh: $bin not found: run 'make' first" >&2
	exit 1
fi

echo "== data path: ns/packet (BPF_PROG_TEST_RUN) =="
echo "\$ $bin $*"
rc=0
"$bin" "$@" || rc=$?
echo
echo "\$ tools/bench_cp.sh"
tools/bench_cp.sh || rc=$?
exit "$rc"
