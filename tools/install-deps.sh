#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install the Debian packages vipxdp needs to build, test and run its demo,
# but only those that are missing: a second run installs nothing.
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
