#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install the Debian packages vipxdp needs to build, test and run its demo,
# but only those that are missing: a second run installs nothing.
#   tools/install-deps.sh            build, tests, demo
#   tools/install-deps.sh --bench    also what the benchmarks need (make bench)
set -euo pipefail

pkgs=(
	make gcc pkg-config        # userspace build
	clang llvm                 # BPF compiler (clang -target bpf)
	libbpf-dev bpftool         # BPF loading, skeletons, map dumps
	libelf-dev zlib1g-dev      # libbpf's own link dependencies
	libyaml-dev                # policy files
	iproute2 ethtool           # namespaces and veth for network tests / demo
	curl jq python3 perl       # test clients, JSON checks, HTTP backends, prove
	iputils-arping ndisc6      # ARP/NDP checks in network tests
	iputils-ping               # path MTU checks in network tests
)
# Only for the end-to-end benchmark (tools/bench_e2e.sh): load generators
# and the kernel/user-space load balancers it compares vipxdp with.
bench_pkgs=(
	wrk iperf3                 # HTTP connections/requests, bulk TCP
	nftables haproxy           # the nftables DNAT and HAProxy modes
	linux-perf                 # profiling the load balancer under load
)
case "${1:-}" in
'') ;;
--bench) pkgs+=("${bench_pkgs[@]}") ;;
*)
	echo "usage: tools/install-deps.sh [--bench]" >&2
	exit 2
	;;
esac

missing=()
for p in "${pkgs[@]}"; do
	if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
