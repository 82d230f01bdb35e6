# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034 # variables are for the sourcing scripts
#
# The network test bed shared by the network tests (tests/net/lib.sh) and
# the demo (tools/demo.sh). Source it; it defines functions and variables
# only and changes nothing until vx_run_init is called.
#
#   client ns                lb ns                      backend ns beN (N=1..3)
#   eth0 198.18.0.10/24  --  to-client 198.18.0.1/24
#        2001:db8:1::10/64             2001:db8:1::1/64
#                            to-beN 198.19.N.254/24  --  eth0 198.19.N.1/24
#                                   2001:db8:2:N::fe/64       2001:db8:2:N::1/64
#
# The VIPs 198.18.0.100 and 2001:db8:1::100 sit on the client's subnet and
# are configured on no interface: the client finds them by ARP/NDP, which
# only vipxdp answers. Backends route everything through the lb, so their
# replies pass the lb's XDP program on the way back (DNAT mode).
#
# Everything a run creates is named with a per-run suffix ($$ and a random
# number), recorded, and removed by vx_cleanup: namespaces (deleting one
# deletes its veth ends), processes started in them, the bpffs mount and the
# run directory. Nothing is created in, or changed in, the root namespace
# except the bpffs mount under the run directory.
#
# Every vipxdp command runs as
#   ip netns exec LB build/vipxdp --bpffs RUN/bpffs ...
# `ip netns exec` gives each command a fresh mount namespace and /sys, so
# /sys/fs/bpf would be a new, empty bpffs every time; the bpffs mounted once
# under the run directory from our own mount namespace stays visible there
# and keeps the pins between commands.

VX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIPXDP=${VIPXDP:-$VX_ROOT/build/vipxdp}

# Addresses (documentation / benchmarking ranges only).
VX_VIP4=198.18.0.100
VX_VIP6=2001:db8:1::100
VX_CLIENT4=198.18.0.10
VX_CLIENT6=2001:db8:1::10
VX_LB4=198.18.0.1
VX_LB6=2001:db8:1::1
VX_NBACKENDS=3
VX_BE_PORT=8080
# Interface names inside the namespaces (names are per namespace, so fixed).
VX_LB_CLIENT_IF=to-client
VX_PEER_IF=eth0

vx_be4() { echo "198.19.$1.1"; }
vx_be6() { echo "2001:db8:2:$1::1"; }
vx_lb_be_if() { echo "to-be$1"; }

# All lb interfaces vipxdp attaches to, client side first.
vx_lb_ifaces() {
	local n
	echo "$VX_LB_CLIENT_IF"
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		vx_lb_be_if "$n"
	done
}

VX_RUN=
VX_BPFFS=
VX_BPFFS_MOUNTED=0
VX_NAMESPACES=()
VX_PIDS=()
VX_CLEANED=0

# Create the run directory and choose this run's names. $1: label.
vx_run_init() {
	local label=${1:-net}
	VX_ID="$$-$RANDOM"
	VX_RUN=$(mktemp -d "${TMPDIR:-/tmp}/vipxdp-$label.XXXXXX") || return 1
	VX_BPFFS=$VX_RUN/bpffs
	NS_CLIENT=vx-$VX_ID-client
	NS_LB=vx-$VX_ID-lb
	NS_BE=()
	local n
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		NS_BE[n]=vx-$VX_ID-be$n
	done
}

# Mount the bpffs the run's vipxdp commands share (once, in our own mount
# namespace; `ip netns exec` children see it).
vx_mount_bpffs() {
	mkdir -p "$VX_BPFFS" || return 1
	mount -t bpf bpf "$VX_BPFFS" || return 1
	VX_BPFFS_MOUNTED=1
}

vx_ns_add() {
	ip netns add "$1" || return 1
	VX_NAMESPACES+=("$1")
	ip -n "$1" link set lo up
}

# Run a command in a namespace, bounded: vx_in NS SECONDS CMD...
vx_in() {
	local ns=$1 secs=$2
	shift 2
	timeout -k 2 "$secs" ip netns exec "$ns" "$@"
}

# vipxdp in the lb namespace with the run's bpffs, bounded.
vx_cli() {
	timeout -k 2 "${VX_CLI_TIMEOUT:-60}" ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$VX_BPFFS" "$@"
}

# One veth pair: vx_veth NS_A IF_A NS_B IF_B
vx_veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
}

# Build namespaces, veths, addresses and routes. Does not load vipxdp.
vx_topology_create() {
	local n ns lbif ns_name
	for ns_name in "$NS_CLIENT" "$NS_LB" "${NS_BE[@]}"; do
		vx_ns_add "$ns_name" || return 1
	done

	# The lb routes between client and backends. rp_filter off: replies
	# rewritten by XDP and handed to the kernel (next hop unresolved)
	# carry the VIP as source on a backend-facing interface.
	ip netns exec "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 || return 1

	# Ephemeral ports stay below 61000: tests pick explicit client ports
	# above it (curl --local-port) and count on each being a new flow.
	ip netns exec "$NS_CLIENT" sysctl -qw net.ipv4.ip_local_port_range="32768 60999" || return 1

	vx_veth "$NS_LB" "$VX_LB_CLIENT_IF" "$NS_CLIENT" "$VX_PEER_IF" || return 1
	ip -n "$NS_LB" addr add "$VX_LB4/24" dev "$VX_LB_CLIENT_IF" || return 1
	ip -n "$NS_LB" addr add "$VX_LB6/64" dev "$VX_LB_CLIENT_IF" nodad || return 1
	ip -n "$NS_CLIENT" addr add "$VX_CLIENT4/24" dev "$VX_PEER_IF" || return 1
	ip -n "$NS_CLIENT" addr add "$VX_CLIENT6/64" dev "$VX_PEER_IF" nodad || return 1

	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ns=${NS_BE[n]}
		lbif=$(vx_lb_be_if "$n")
		vx_veth "$NS_LB" "$lbif" "$ns" "$VX_PEER_IF" || return 1
		ip -n "$NS_LB" addr add "198.19.$n.254/24" dev "$lbif" || return 1
		ip -n "$NS_LB" addr add "2001:db8:2:$n::fe/64" dev "$lbif" nodad || return 1
		ip -n "$ns" addr add "$(vx_be4 "$n")/24" dev "$VX_PEER_IF" || return 1
		ip -n "$ns" addr add "$(vx_be6 "$n")/64" dev "$VX_PEER_IF" nodad || return 1
	done

	# Both ends up first, then the peer-side settings (GRO must be switched
	# on while the pair is up, or redirects into it are dropped).
	for lbif in $(vx_lb_ifaces); do
		ip -n "$NS_LB" link set "$lbif" up || return 1
	done
	for ns in "$NS_CLIENT" "${NS_BE[@]}"; do
		ip -n "$ns" link set "$VX_PEER_IF" up || return 1
	done
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ns=${NS_BE[n]}
		ip -n "$ns" route add default via "198.19.$n.254" || return 1
		ip -n "$ns" -6 route add default via "2001:db8:2:$n::fe" || return 1
	done
	for ns in "$NS_CLIENT" "${NS_BE[@]}"; do
		# GRO: XDP_TX/redirected frames into this veth are not dropped.
		# tx off: locally sent TCP carries a full checksum, so the
		# checksums vipxdp rewrites are real and verified on receipt.
		ip netns exec "$ns" ethtool -K "$VX_PEER_IF" gro on >/dev/null || return 1
		ip netns exec "$ns" ethtool -K "$VX_PEER_IF" tx off >/dev/null || return 1
	done
	# GRO is not enough for XDP_TX: veth kicks the receiving peer's NAPI
	# after an XDP_TX only when the peer has an XDP program, so vipxdp's
	# ARP/NDP replies would wait in the ring. An XDP_PASS program on the
	# client and backend ends makes them (and redirects) arrive at once.
	clang -O2 -target bpf -c "$VX_ROOT/tests/net/xdp_pass.bpf.c" \
		-o "$VX_RUN/xdp_pass.o" || return 1
	for ns in "$NS_CLIENT" "${NS_BE[@]}"; do
		ip -n "$ns" link set dev "$VX_PEER_IF" xdpdrv obj "$VX_RUN/xdp_pass.o" \
			sec xdp || return 1
	done
}

# MAC address of an interface: vx_mac NS IF
vx_mac() {
	ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'
}

# vx_backend_serve N [PYTHON]: start backend N's HTTP server on port 8080
# (serving RUN/www/beN), its output appended to RUN/beN.log; does not wait.
vx_backend_serve() {
	local n=$1
	# --bind :: is dual-stack (IPv4-mapped addresses accepted).
	ip netns exec "${NS_BE[n]}" "${2:-python3}" -m http.server "$VX_BE_PORT" --bind :: \
		--directory "$VX_RUN/www/be$n" </dev/null >>"$VX_RUN/be$n.log" 2>&1 &
	VX_PIDS+=($!)
	# No job-status noise ("Killed") when cleanup kills it.
	disown "$!"
}

# Start one dual-stack HTTP server per backend on port 8080 answering every
# GET with "beN\n", and wait until each answers (bounded).
vx_backends_start() {
	local n dir py i ok
	py=$(python3 -c 'import sys; print(sys.executable)') || return 1
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		dir=$VX_RUN/www/be$n
		mkdir -p "$dir" || return 1
		echo "be$n" >"$dir/index.html"
		vx_backend_serve "$n" "$py"
	done
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		ok=0
		for ((i = 0; i < 100; i++)); do
			if [ "$(vx_in "${NS_BE[n]}" 3 curl -s --max-time 1 \
				"http://$(vx_be4 "$n"):$VX_BE_PORT/")" = "be$n" ] &&
				[ "$(vx_in "${NS_BE[n]}" 3 curl -s --max-time 1 \
					"http://[$(vx_be6 "$n")]:$VX_BE_PORT/")" = "be$n" ]; then
				ok=1
				break
			fi
			sleep 0.1
		done
		if [ $ok -ne 1 ]; then
			echo "backend be$n: HTTP server did not start; log:" >&2
			cat "$VX_RUN/be$n.log" >&2
			return 1
		fi
	done
}

# Kill a process and its descendants, by pid.
vx_kill_tree() {
	local pid=$1 child
	for child in $(pgrep -P "$pid" 2>/dev/null); do
		vx_kill_tree "$child"
	done
	kill -KILL "$pid" 2>/dev/null
}

# Remove everything this run made. Safe to call more than once and from a
# signal trap.
vx_cleanup() {
	local pid ns i
	# Only the main shell cleans up: a subshell forked just as a signal
	# came in may run the trap with a stale copy of the state.
	[ "$BASHPID" = "$$" ] || exit 1
	[ "$VX_CLEANED" = 1 ] && return 0
	VX_CLEANED=1
	for pid in "${VX_PIDS[@]}"; do
		vx_kill_tree "$pid"
	done
	# Whatever else still runs in our namespaces (clients, vipxdp) is ours.
	for ns in "${VX_NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for ns in "${VX_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	VX_NAMESPACES=()
	if [ "$VX_BPFFS_MOUNTED" = 1 ]; then
		for ((i = 0; i < 20; i++)); do
			umount "$VX_BPFFS" 2>/dev/null && break
			sleep 0.1
		done
		if mountpoint -q "$VX_BPFFS" 2>/dev/null; then
			umount -l "$VX_BPFFS" 2>/dev/null
		fi
		VX_BPFFS_MOUNTED=0
	fi
	if [ -n "$VX_RUN" ] && [ -d "$VX_RUN" ] && [ "${VX_KEEP:-0}" != 1 ]; then
		# Never follow into a still-mounted bpffs.
		if ! mountpoint -q "$VX_BPFFS" 2>/dev/null; then
			rm -rf "$VX_RUN"
		fi
	fi
	return 0
}
