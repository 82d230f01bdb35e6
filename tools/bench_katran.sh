#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The data-path microbenchmark side by side with Katran's XDP balancer
# (facebookincubator/katran): builds its BPF program from a checkout you
# provide, then runs build/tools/bench_datapath --katran with it, so both
# are measured by the same wrapper, frames and method in the same run,
# their runs alternating case by case (cases 2, 3, 4, 6 and 11; how Katran is
# configured: tools/bench_datapath.c, "Katran, side by side").
#
#   git clone https://github.com/facebookincubator/katran /tmp/katran
#   tools/bench_katran.sh /tmp/katran [bench_datapath options, e.g. --runs 5]
#
# Nothing of Katran's is part of vipxdp: the checkout is read, and its
# object is built into build/katran/. Katran guards against SYN floods at
# build time (MAX_CONN_RATE, 125,000 new connections a second): above it,
# it stops recording new flows. A benchmark makes millions a second, so
# with the guard its SYN case would measure the flood path, and the
# 1M-flow case would find no recorded flows; the build raises the limit so
# that both measure the path taken below it. Run as root after `make`.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: tools/bench_katran.sh KATRAN_CHECKOUT [bench_datapath options]" >&2
	exit 2
}

[ $# -ge 1 ] || usage
case $1 in -h | --help) usage ;; esac
src=$1
shift
prog=$src/katran/lib/bpf/balancer.bpf.c
[ -f "$prog" ] || {
	echo "tools/bench_katran.sh: $prog not found: give a checkout of facebookincubator/katran" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || {
	echo "tools/bench_katran.sh: run as root (the benchmark loads BPF programs)" >&2
	exit 1
}
[ -x build/tools/bench_datapath ] || {
	echo "tools/bench_katran.sh: build/tools/bench_datapath not found: run 'make' first" >&2
	exit 1
}

out=build/katran
mkdir -p "$out/include/gnu"
# Katran's program includes libc headers (string.h) that, for a BPF
# target, ask for the 32-bit glibc stubs; nothing is used from them.
: >"$out/include/gnu/stubs-32.h"
rev=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "unknown revision")
echo "== Katran $rev: building $prog =="
clang -O2 -g -target bpf -I "$src" -I "$out/include" -I "/usr/include/$(gcc -dumpmachine)" \
	-DMAX_CONN_RATE=0xffffffffffffffffULL -c "$prog" -o "$out/balancer.bpf.o"
exec build/tools/bench_datapath --katran "$out/balancer.bpf.o" --cases 2,3,4,6,11 "$@"
