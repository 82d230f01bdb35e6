#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# vipxdp demo (`make demo`, as root): builds a client, a load balancer and
# three HTTP backends in network namespaces (tests/net/topology.sh), loads
# vipxdp on the load balancer with deploy/examples/demo.yaml, sends requests
# to the VIP and shows which backend served each, the status and counters,
# then removes one backend and shows the traffic moving to the other two.
# Everything it creates is removed at the end, also when interrupted.
# Takes well under a minute.
#
# Environment: VIPXDP=path of the binary (default build/vipxdp).

set -u

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/net/topology.sh
. tests/net/topology.sh

POLICY=deploy/examples/demo.yaml

step() {
	printf '\n==> %s\n' "$*"
}

die() {
	echo "demo: $*" >&2
	exit 1
}

# Show a command and run it.
show() {
	echo "\$ $*"
	"$@"
}

# vipxdp as it would be typed in the lb namespace (the --bpffs option is
# there because every `ip netns exec` gets a fresh /sys; see topology.sh).
vipxdp_cmd() {
	echo "lb# vipxdp $*"
	vx_cli "$@"
}

# requests FIRST COUNT URL: one connection per client port FIRST.., prints
# which backend answered each (three to a line) and the distribution.
requests() {
	local first=$1 count=$2 url=$3 p i args=() codes=() body b
	local -A n=()
	for ((p = first; p < first + count; p++)); do
		rm -f "$VX_RUN/body.$p"
		[ ${#args[@]} -gt 0 ] && args+=(--next)
		args+=(-g -s --max-time 3 --local-port "$p" -o "$VX_RUN/body.$p" -w '%{http_code}/%{exitcode}\n' "$url")
	done
	vx_in "$NS_CLIENT" 60 curl "${args[@]}" >"$VX_RUN/codes"
	mapfile -t codes <"$VX_RUN/codes"
	for ((i = 0; i < count; i++)); do
		p=$((first + i))
		body=$(cat "$VX_RUN/body.$p" 2>/dev/null)
		[ "${codes[i]:-}" = 200/0 ] || body=FAILED
		n[$body]=$((${n[$body]:-0} + 1))
		printf '  #%-2d port %d -> %-6s' "$((i + 1))" "$p" "$body"
		if [ $((i % 3)) -eq 2 ] || [ $((i + 1)) -eq "$count" ]; then
			echo
		fi
	done
	printf '  distribution:'
	for b in $(printf '%s\n' "${!n[@]}" | sort); do
		printf ' %s=%d' "$b" "${n[$b]}"
	done
	echo
}

on_signal() {
	trap '' INT TERM HUP
	echo "demo: interrupted, cleaning up" >&2
	vx_cleanup
	trap - EXIT
	exit 130
}

[ "$(id -u)" -eq 0 ] || die "run as root (it creates network namespaces and loads XDP programs)"
for c in ip ethtool curl jq python3 clang timeout bpftool; do
	command -v "$c" >/dev/null 2>&1 || die "$c is not installed (make deps)"
done
[ -x "$VIPXDP" ] || die "$VIPXDP not built (make)"
grep -qw bpf /proc/filesystems || die "this kernel has no bpffs"

trap on_signal INT TERM HUP
trap vx_cleanup EXIT

vx_run_init demo || die "cannot create a run directory"
step "Test bed: namespaces client, lb, be1..be3 (suffix $VX_ID), veth, HTTP servers"
vx_mount_bpffs || die "cannot mount a bpffs at $VX_BPFFS"
vx_topology_create || die "cannot build the namespaces"
vx_backends_start || die "the backends' HTTP servers did not start"
echo "  client $VX_CLIENT4 / $VX_CLIENT6; VIPs $VX_VIP4 and $VX_VIP6 (on no interface)"
for ((n = 1; n <= VX_NBACKENDS; n++)); do
	echo "  be$n   $(vx_be4 "$n"):8080 and [$(vx_be6 "$n")]:8080"
done

step "Load vipxdp on the lb's interfaces with $POLICY"
# shellcheck disable=SC2046
vipxdp_cmd load $(vx_lb_ifaces) -c "$POLICY" || die "vipxdp load failed"

step "30 HTTP requests from the client to http://$VX_VIP4/"
show ip -n "$NS_CLIENT" neigh flush dev "$VX_PEER_IF" >/dev/null
requests 50001 30 "http://$VX_VIP4/"
echo "  the client found the VIP by ARP (answered by vipxdp, XDP_TX):"
echo "    $(ip -n "$NS_CLIENT" neigh show "$VX_VIP4")  (lb's to-client MAC: $(vx_mac "$NS_LB" "$VX_LB_CLIENT_IF"))"

step "And 6 over IPv6 to http://[$VX_VIP6]/"
requests 50101 6 "http://[$VX_VIP6]/"

step "Which backend will client port 50001 get? (the same hash as the data path)"
vipxdp_cmd lookup "$VX_VIP4:80/tcp" "$VX_CLIENT4:50001"

step "Status"
vipxdp_cmd status

step "Counters"
vipxdp_cmd stats

step "The same reason counters, straight from the BPF map (BTF field names)"
# bpftool finds maps by name from the kernel, no pin needed; when other
# vipxdp instances run on this host, pick ours by its pin.
if [ "$(bpftool -j map show | jq '[.[] | select(.name == "vipxdp_stats")] | length')" = 1 ]; then
	show ip netns exec "$NS_LB" bpftool map dump name vipxdp_stats
else
	id=$(bpftool -j map show pinned "$VX_BPFFS/vipxdp/vipxdp_stats" | jq .id)
	echo "(several maps named vipxdp_stats on this host: ours is id $id)"
	show ip netns exec "$NS_LB" bpftool map dump id "$id"
fi

step "Remove be2 from the IPv4 service"
vipxdp_cmd map del "$VX_VIP4:80/tcp" "$(vx_be4 2):8080"
vipxdp_cmd map list

step "30 new connections: be2 gets none, its share moved to be1 and be3"
requests 50201 30 "http://$VX_VIP4/"

step "Unload and tear down"
# shellcheck disable=SC2046
vipxdp_cmd unload $(vx_lb_ifaces)
vx_cleanup
echo "  namespaces, processes and the bpffs mount removed"
