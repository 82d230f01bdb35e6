#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# DNAT-mode load balancing end to end, through real sockets: a client
# namespace talks HTTP to the VIPs 198.18.0.100:80 and [2001:db8:1::100]:80,
# vipxdp on the lb namespace's interfaces (native XDP on veth) answers
# ARP/NDP and sends each connection to one of three backends' HTTP servers on
# port 8080; replies come back through the lb (the backends' gateway) and
# get the VIP as source. Also every vipxdp subcommand's success and failure
# paths, JSON output, live reconfiguration under load, and restarts.
#
# Tests run in order and build on each other's state (load, then map add,
# then traffic...). TAP on stdout; see tests/net/lib.sh.
#
# Client source ports given explicitly (curl --local-port) come from
# 61000-61999, above the kernel's ephemeral range, and each is used once in a
# run: every such connection is a new flow for vipxdp's conntrack, which
# makes counts exact and lookups predictable.

# shellcheck source=tests/net/lib.sh
. "$(dirname "$0")/lib.sh"

URL4="http://$VX_VIP4/"
URL6="http://[$VX_VIP6]/"
SVC4="$VX_VIP4:80/tcp"
SVC6="[$VX_VIP6]:80/tcp"
# jq: the v4 / v6 service in `status` or `stats` output.
JQ_SVC4=$(jq_svc "$VX_VIP4" tcp 80)
JQ_SVC6=$(jq_svc "$VX_VIP6" tcp 80)

# be_name ENDPOINT: "198.19.2.1:8080" or "[2001:db8:2:2::1]:8080" -> be2
be_name() {
	sed -nE 's/^198\.19\.([0-9]+)\.1:8080$/be\1/p; s/^\[2001:db8:2:([0-9]+)::1\]:8080$/be\1/p' <<<"$1"
}

# ifaces_attached MODE: every lb interface has an XDP program in MODE
# (xdp = native, xdpgeneric) or, with MODE "none", none at all.
ifaces_attached() {
	local want=$1 ifc line
	for ifc in $(vx_lb_ifaces); do
		line=$(ip -n "$NS_LB" -d link show dev "$ifc")
		echo "$line" | grep -E 'prog/|xdp' | sed "s/^/  $ifc: /"
		if [ "$want" = none ]; then
			! grep -q 'prog/xdp' <<<"$line" || fail "$ifc still has an XDP program"
		else
			grep -q "prog/$want " <<<"$line" || fail "$ifc: no XDP program in mode $want"
		fi
	done
}

# write_policy FILE V4 [V6]: a policy for both VIPs; V4 and V6 list the
# backends as "N:WEIGHT ..." (backend N is beN).
write_policy() {
	local file=$1 v4=$2 v6=${3:-"1:100 2:100 3:100"}
	{
		echo "# test_dnat.sh: generated policy"
		policy_interfaces
		echo "vips:"
		echo "  - address: $VX_VIP4"
		echo "    name: web"
		echo "    arp: true"
		echo "    services:"
		policy_service tcp 80 4 "$VX_BE_PORT" "$v4" "hash: 5tuple"
		echo "  - address: $VX_VIP6"
		echo "    name: web6"
		echo "    services:"
		policy_service tcp 80 6 "$VX_BE_PORT" "$v6"
	} >"$file"
}

# vipxdp processes in our namespaces: "PID ..." (empty when none).
our_vipxdp_pids() {
	local ns pid
	for ns in "${VX_NAMESPACES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = vipxdp ] && echo "$pid"
		done
	done
}

# `vipxdp load` attaches to every lb interface (client side and backend
# sides) in native mode: each shows a native XDP program, `status` lists the
# four interfaces with their ifindex and mode, and the pins exist under the
# given bpffs.
test_load_native() {
	local ifc idx
	# shellcheck disable=SC2046
	cli 0 load $(vx_lb_ifaces) --mode native
	ifaces_attached xdp
	[ -d "$VX_BPFFS/vipxdp" ] || fail "no pin directory $VX_BPFFS/vipxdp"
	ls -l "$VX_BPFFS/vipxdp"
	[ -n "$(ls -A "$VX_BPFFS/vipxdp")" ] || fail "pin directory is empty"
	cli 0 -j status
	jq_check "$OUT" '.interfaces | length == 4' "status lists 4 interfaces"
	for ifc in $(vx_lb_ifaces); do
		idx=$(ip -n "$NS_LB" -j link show dev "$ifc" | jq '.[0].ifindex')
		jq_check "$OUT" ".interfaces[] | select(.name == \"$ifc\") |
			.ifindex == $idx and .mode == \"native\"" "status: $ifc ifindex $idx, native"
	done
}

# IPv4 HTTP through the VIP: the first backend added creates the service
# and turns on ARP for the VIP; the client resolves 198.18.0.100 by ARP to
# the lb's MAC (the address is on no interface, so only vipxdp can have
# answered), and a curl to 198.18.0.100:80 is answered by a backend's :8080
# server. vipxdp answers ARP for the VIP and for nothing else.
test_http_ipv4_arp() {
	local n body mac lbmac
	ip -n "$NS_LB" addr | grep -q "$VX_VIP4" && fail "VIP configured on an lb interface"
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		cli 0 map add "$SVC4" "$(vx_be4 "$n"):8080"
	done
	body=$(vx_in "$NS_CLIENT" 10 curl -s --max-time 5 "$URL4")
	echo "response: $body"
	assert_match "$body" '^be[1-3]$' "HTTP through $URL4"
	mac=$(ip -n "$NS_CLIENT" -j neigh show "$VX_VIP4" dev "$VX_PEER_IF" | jq -r '.[0].lladdr // empty')
	lbmac=$(vx_mac "$NS_LB" "$VX_LB_CLIENT_IF")
	ip -n "$NS_CLIENT" neigh show "$VX_VIP4"
	assert_eq "$mac" "$lbmac" "client's neighbour entry for $VX_VIP4"
	if command -v arping >/dev/null; then
		check_rc 0 vx_in "$NS_CLIENT" 5 arping -c 1 -w 2 -I "$VX_PEER_IF" "$VX_VIP4"
		assert_match "$(out)" "$lbmac" "arping reply from the lb's MAC"
		# A non-VIP address on the same subnet gets no answer.
		check_rc 1 vx_in "$NS_CLIENT" 5 arping -c 1 -w 1 -I "$VX_PEER_IF" 198.18.0.99
	fi
}

# IPv6 HTTP through the VIP, the client resolving 2001:db8:1::100 by NDP:
# the neighbour entry has the lb's MAC and a backend answers over IPv6.
test_http_ipv6_ndp() {
	local n body mac lbmac
	for ((n = 1; n <= VX_NBACKENDS; n++)); do
		cli 0 map add "$SVC6" "[$(vx_be6 "$n")]:8080"
	done
	body=$(vx_in "$NS_CLIENT" 10 curl -g -s --max-time 5 "$URL6")
	echo "response: $body"
	assert_match "$body" '^be[1-3]$' "HTTP through $URL6"
	# Its conntrack entry, listed with the flow's addresses whole (an IPv6
	# flow's key holds only a digest of them) and the answering backend.
	cli 0 -j conntrack list
	jq_check "$OUT" "[.flows[] | select((.source | startswith(\"[$VX_CLIENT6]:\")) and
		.destination == \"[$VX_VIP6]:80\" and
		.new_destination == \"[2001:db8:2:${body#be}::1]:8080\")] | length == 1" \
		"conntrack list: the IPv6 flow, its addresses and backend"
	mac=$(ip -n "$NS_CLIENT" -6 -j neigh show "$VX_VIP6" dev "$VX_PEER_IF" | jq -r '.[0].lladdr // empty')
	lbmac=$(vx_mac "$NS_LB" "$VX_LB_CLIENT_IF")
	ip -n "$NS_CLIENT" -6 neigh show "$VX_VIP6"
	assert_eq "$mac" "$lbmac" "client's neighbour entry for $VX_VIP6"
	if command -v ndisc6 >/dev/null; then
		check_rc 0 vx_in "$NS_CLIENT" 5 ndisc6 -1 -r 2 -w 1000 "$VX_VIP6" "$VX_PEER_IF"
		assert_match "$(out)" "$lbmac" "ndisc6 answer with the lb's MAC"
	fi
}

# Distribution and prediction: 60 connections from 60 different source
# ports all succeed and are spread over at least two backends (IPv6: 20
# connections, all succeed); `vipxdp lookup` names, for given client ports,
# the backend that then really answers a connection from that port.
test_distribution_lookup() {
	local res nb p be want got
	require_http "$URL4"
	res=$(fetch_ports "$URL4" 61000 60)
	echo "$res"
	expect_all_ok "$res" "IPv4 distribution"
	echo "IPv4 distribution: $(distribution "$res")"
	nb=$(awk '{ print $3 }' <<<"$res" | sort -u | wc -l)
	[ "$nb" -ge 2 ] || fail "60 connections all went to one backend"
	require_http "$URL6"
	res=$(fetch_ports "$URL6" 61060 20)
	expect_all_ok "$res" "IPv6 distribution"
	echo "IPv6 distribution: $(distribution "$res")"

	for ((p = 61100; p < 61115; p++)); do
		if [ "$p" -lt 61110 ]; then
			cli 0 -j lookup "$SVC4" "$VX_CLIENT4:$p"
			res=$(fetch_ports "$URL4" "$p" 1)
		else
			cli 0 -j lookup "$SVC6" "[$VX_CLIENT6]:$p"
			res=$(fetch_ports "$URL6" "$p" 1)
		fi
		be=$(jq -r '.backend' "$OUT")
		want=$(be_name "$be")
		[ -n "$want" ] || fail "lookup gave '$be', not one of the backends"
		got=$(awk '{ print $3 }' <<<"$res")
		echo "port $p: lookup says $be ($want), answered by $got"
		assert_eq "$got" "$want" "backend for client port $p"
	done
}

# Counters: 25 new connections raise the service's new_flows by exactly 25,
# and the per-backend new_flows by 25 in total; packets, bytes and reply
# counters grow; ARP/NDP answers and redirects are counted under their
# reasons.
test_counters() {
	local res d
	require_http "$URL4"
	cli 0 -j stats
	cp "$OUT" "$T/before.json"
	res=$(fetch_ports "$URL4" 61200 25)
	expect_all_ok "$res" "requests"
	cli 0 -j stats
	cp "$OUT" "$T/after.json"
	d=$(jq -n --slurpfile a "$T/before.json" --slurpfile b "$T/after.json" "
		(\$a[0] | $JQ_SVC4) as \$x | (\$b[0] | $JQ_SVC4) as \$y |
		{ new_flows: (\$y.new_flows - \$x.new_flows),
		  packets: (\$y.packets - \$x.packets),
		  bytes: (\$y.bytes - \$x.bytes),
		  reply_packets: (\$y.reply_packets - \$x.reply_packets),
		  reply_bytes: (\$y.reply_bytes - \$x.reply_bytes),
		  backend_new_flows: (([\$y.backends[].new_flows] | add) - ([\$x.backends[].new_flows] | add)) }")
	echo "deltas: $d"
	[ -n "$d" ] || fail "cannot compute the counter differences"
	jq -e '.new_flows == 25' <<<"$d" >/dev/null || fail "service new_flows grew by $(jq .new_flows <<<"$d"), expected 25"
	jq -e '.backend_new_flows == 25' <<<"$d" >/dev/null || fail "backends' new_flows grew by $(jq .backend_new_flows <<<"$d"), expected 25"
	# At least SYN, ACK, request and FIN per connection each way.
	jq -e '.packets >= 75 and .bytes > 0 and .reply_packets >= 50 and .reply_bytes > 0' <<<"$d" >/dev/null ||
		fail "packet counters did not grow as expected"
	jq_check "$T/after.json" '.reasons.fwd_redirect.packets > 0' "fwd_redirect counted"
	jq_check "$T/after.json" '.reasons.arp_reply.packets > 0' "arp_reply counted"
	jq_check "$T/after.json" '.reasons.ndp_reply.packets > 0' "ndp_reply counted"
}

# Success paths of every subcommand not covered elsewhere: help, text
# output of status / stats / map list, map add with --weight, map del of one
# backend and of a whole service, stats --watch, global options after the
# subcommand, and VIPXDP_BPFFS instead of --bpffs.
test_cli_success() {
	local n
	check_rc 0 timeout 10 "$VIPXDP" --help
	assert_match "$(out)$(err)" 'usage' "--help prints usage"
	check_rc 0 timeout 10 "$VIPXDP" -h
	cli 0 status
	assert_match "$(out)" "$VX_VIP4" "status shows the VIP"
	assert_match "$(out)" "$VX_LB_CLIENT_IF" "status shows the interfaces"
	cli 0 stats
	assert_match "$(out)" 'fwd_redirect' "stats shows reasons"
	cli 0 map list
	assert_match "$(out)" "198\.18\.0\.100:80/tcp" "map list shows the IPv4 service"
	assert_match "$(out)" "198\.19\.1\.1:8080" "map list shows a backend"
	assert_match "$(out)" "\[2001:db8:1::100\]:80/tcp" "map list shows the IPv6 service"

	cli 0 map add "$VX_VIP4:8443/tcp" "$(vx_be4 1):8080" --weight 50
	cli 0 -j map list
	jq_check "$OUT" '.services[] | select(.service == "198.18.0.100:8443/tcp") |
		.backends == [{"backend": "198.19.1.1:8080", "weight": 50, "state": "active"}]' \
		"map add --weight 50"
	cli 0 map add "$VX_VIP4:53/udp" "$(vx_be4 2):53"
	cli 0 map add "$VX_VIP4:53/udp" "$(vx_be4 3):53"
	cli 0 map del "$VX_VIP4:53/udp" "$(vx_be4 2):53"
	cli 0 -j map list
	jq_check "$OUT" '[.services[] | select(.service == "198.18.0.100:53/udp") | .backends[].backend] == ["198.19.3.1:53"]' \
		"map del of one backend"
	cli 0 map del "$VX_VIP4:53/udp"
	cli 0 map del "$VX_VIP4:8443/tcp"
	cli 0 -j map list
	jq_check "$OUT" '[.services[].service] | sort == ["198.18.0.100:80/tcp", "[2001:db8:1::100]:80/tcp"]' \
		"map del of whole services"

	# --watch repeats until interrupted (timeout ends it: exit 124).
	check_rc 124 timeout 3.5 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$VX_BPFFS" stats --watch 1
	n=$(grep -c fwd_redirect "$OUT")
	[ "$n" -ge 2 ] || fail "stats --watch 1 printed $n times in 3.5s"

	# Global options after the subcommand, long forms, environment.
	check_rc 0 timeout 10 ip netns exec "$NS_LB" "$VIPXDP" status --json --bpffs "$VX_BPFFS"
	jq_check "$OUT" ".pin_dir == \"$VX_BPFFS/vipxdp\"" "options after the subcommand"
	check_rc 0 timeout 10 ip netns exec "$NS_LB" env VIPXDP_BPFFS="$VX_BPFFS" "$VIPXDP" map list -j
	jq_check "$OUT" '.services | length == 2' "VIPXDP_BPFFS"
}

# Bad arguments: exit code 2, a message naming the offending argument, and
# no change to the running state.
test_cli_usage_errors() {
	local c args re
	status_json "$T/before.json"
	local -a cases=(
		"|usage"
		"frobnicate|frobnicate"
		"--frob status|--frob"
		"map|usage|map"
		"map frob|frob"
		"map add $SVC4|usage|backend|argument"
		"map add 198.18.0.300:80/tcp 198.19.1.1:8080|198\.18\.0\.300"
		"map add 198.18.0.100:80/sctp 198.19.1.1:8080|sctp"
		"map add $SVC4 198.19.1.1:70000|70000"
		"map add $SVC4 198.19.1.1:8080 --weight heavy|heavy"
		"map add $SVC4 198.19.1.1:8080 --weight|weight"
		"map del 2001:db8:1::100:80/tcp|2001:db8:1::100"
		"load|usage|interface|IFACE"
		"load $VX_LB_CLIENT_IF --mode turbo|turbo"
		"unload|usage|interface|IFACE"
		"stats --watch soon|soon"
		"lookup $SVC4 notaclient|notaclient"
		"lookup $SVC4|usage|client"
		"apply|usage|-c"
		"status --frob|--frob"
	)
	for c in "${cases[@]}"; do
		args=${c%%|*}
		re=${c#*|}
		# shellcheck disable=SC2086 # word splitting of the argument list
		cli 2 $args
		assert_match "$(out)$(err)" "$re" "message for '$args'"
	done
	check_rc 2 timeout 10 ip netns exec "$NS_LB" "$VIPXDP" status --bpffs
	status_json "$T/after.json"
	diff -u "$T/before.json" "$T/after.json" || fail "state changed by bad arguments"
}

# Failures (exit 1) with messages naming what is wrong: a missing interface,
# an unknown VIP or backend in map del, lookup of an unknown service, a
# missing policy file, a --bpffs (or VIPXDP_BPFFS) directory that is not a
# bpffs (the message says so and how to fix it, and nothing is written
# there), an unload naming an interface vipxdp is not on. None of them
# changes the running state.
test_cli_failures() {
	local plain=$T/plain
	status_json "$T/before.json"
	cli 1 load nosuchif0
	assert_match "$(err)" 'nosuchif0' "load of a missing interface"
	cli 1 unload nosuchif0
	assert_match "$(err)" 'nosuchif0' "unload of a missing interface"
	cli 1 map del 198.18.0.99:80/tcp
	assert_match "$(err)" '198\.18\.0\.99' "map del of an unknown VIP"
	cli 1 map del "$SVC4" 198.19.9.9:8080
	assert_match "$(err)" '198\.19\.9\.9' "map del of an unknown backend"
	cli 1 lookup "$VX_VIP4:81/tcp" "$VX_CLIENT4:40000"
	assert_match "$(err)" '198\.18\.0\.100:81/tcp' "lookup of an unknown service"
	cli 1 apply -c "$T/no-such-policy.yaml"
	assert_match "$(err)" 'no-such-policy\.yaml' "apply of a missing file"

	mkdir -p "$plain"
	check_rc 1 timeout 10 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$plain" status
	assert_match "$(err)" 'not (a |on a )?bpf' "message: not a bpffs"
	assert_match "$(err)" 'mount -t bpf' "message: how to mount one"
	check_rc 1 timeout 10 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$plain" map add "$SVC4" 198.19.1.1:8080
	assert_match "$(err)" 'not (a |on a )?bpf' "message: not a bpffs"
	check_rc 1 timeout 10 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$plain" load "$VX_LB_CLIENT_IF"
	check_rc 1 timeout 10 ip netns exec "$NS_LB" env VIPXDP_BPFFS="$plain" "$VIPXDP" status
	assert_match "$(err)" 'not (a |on a )?bpf' "VIPXDP_BPFFS: message: not a bpffs"
	[ -z "$(ls -A "$plain")" ] || fail "vipxdp wrote into a directory that is not a bpffs: $(ls -A "$plain")"
	check_rc 1 timeout 10 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$T/does-not-exist" status
	# Pins of another layout (another vipxdp version): load refuses with a
	# message naming the map and what to do, and attaches nothing.
	mkdir -p "$T/oldfs" && mount -t bpf bpf "$T/oldfs" || fail "mounting a second bpffs"
	mkdir "$T/oldfs/vipxdp"
	bpftool map create "$T/oldfs/vipxdp/vipxdp_ct" type lru_hash key 40 value 80 \
		entries 1024 name vipxdp_ct || { umount "$T/oldfs"; fail "bpftool map create"; }
	check_rc 1 timeout 30 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$T/oldfs" load lo
	umount "$T/oldfs"
	assert_match "$(err)" 'vipxdp_ct has another layout.*value 80 B.*unload every interface' \
		"message: pinned map of another layout"
	ip -n "$NS_LB" -d link show dev lo | grep -q 'prog/xdp' && fail "lo got an XDP program"
	# A multi-interface command that fails changes nothing, not even the
	# interfaces named before the bad one (lo exists, vipxdp is not on it).
	cli 1 unload "$VX_LB_CLIENT_IF" lo
	assert_match "$(err)" 'lo' "unload of an interface vipxdp is not on"
	if ! ip -n "$NS_LB" -d link show dev "$VX_LB_CLIENT_IF" | grep -q 'prog/xdp '; then
		# Put it back so that the following tests still have traffic.
		vx_cli load "$VX_LB_CLIENT_IF" --mode native
		fail "the failed 'unload $VX_LB_CLIENT_IF lo' detached $VX_LB_CLIENT_IF"
	fi
	ifaces_attached xdp
	status_json "$T/after.json"
	diff -u "$T/before.json" "$T/after.json" || fail "state changed by failed commands"
}

# JSON output of status, stats, map list and lookup has the documented
# shape and the configured values; stats lists every reason counter of the
# ABI (include/vipxdp_abi.h) and no other.
test_json_output() {
	local reasons
	cli 0 -j status
	jq_check "$OUT" ".pin_dir == \"$VX_BPFFS/vipxdp\"" "status.pin_dir"
	jq_check "$OUT" '.settings | (.hash_seed | type == "number") and (.table_size | type == "number")' "status.settings"
	jq_check "$OUT" '[.interfaces[] | select((.name | type == "string") and (.ifindex | type == "number") and .mode == "native")] | length == 4' \
		"status.interfaces"
	jq_check "$OUT" "[.vips[] | select(.address == \"198.18.0.100\" and .arp == true)] | length == 1" "status: IPv4 VIP, arp on"
	jq_check "$OUT" "[.vips[] | select(.address == \"2001:db8:1::100\" and .arp == true)] | length == 1" "status: IPv6 VIP, arp on"
	jq_check "$OUT" "[$JQ_SVC4 | select(.hash == \"5tuple\") | .backends[] | select(.port == 8080 and .weight == 100 and .state == \"active\") | .address] | sort == [\"198.19.1.1\", \"198.19.2.1\", \"198.19.3.1\"]" \
		"status: IPv4 service backends"
	jq_check "$OUT" "[$JQ_SVC6 | .backends[] | select(.port == 8080 and .weight == 100 and .state == \"active\") | .address] | sort == [\"2001:db8:2:1::1\", \"2001:db8:2:2::1\", \"2001:db8:2:3::1\"]" \
		"status: IPv6 service backends"

	cli 0 -j stats
	reasons=$(sed -n '/#define VIPXDP_REASONS/,/^$/p' "$VX_ROOT/include/vipxdp_abi.h" |
		grep -oE 'X\([a-z0-9_]+\)' | sed -E 's/X\((.*)\)/"\1"/' | paste -sd, -)
	echo "ABI reasons: $reasons"
	[ -n "$reasons" ] || fail "cannot read the reason list from include/vipxdp_abi.h"
	jq_check "$OUT" "(.reasons | keys | sort) == ([$reasons] | sort)" "stats.reasons has every reason"
	jq_check "$OUT" '[.reasons[] | (.packets | type == "number") and (.bytes | type == "number")] | all' "stats.reasons values"
	jq_check "$OUT" '.flow_cache.enabled == true and .flow_cache.bypass_windows == 0 and .flow_cache.cpus_bypassing == 0' \
		"stats.flow_cache: on, no bypass on this light load"
	jq_check "$OUT" '(.syn_lookups.skip_windows | type == "number") and (.syn_lookups.cpus_skipping | type == "number")' \
		"stats.syn_lookups"
	jq_check "$OUT" "$JQ_SVC4 | ([.packets, .bytes, .new_flows, .reply_packets, .reply_bytes] | map(type == \"number\") | all)
		and (.backends | length == 3)
		and ([.backends[] | (.address | type == \"string\") and .port == 8080 and ([.packets, .bytes, .new_flows, .reply_packets, .reply_bytes] | map(type == \"number\") | all)] | all)" \
		"stats: IPv4 service and backends"
	jq_check "$OUT" "$JQ_SVC6 | .backends | length == 3" "stats: IPv6 service"

	cli 0 -j map list
	jq_check "$OUT" '[.services[] | select(.service == "198.18.0.100:80/tcp" and .hash == "5tuple") | .backends[] | select(.weight == 100 and .state == "active") | .backend] | sort == ["198.19.1.1:8080", "198.19.2.1:8080", "198.19.3.1:8080"]' \
		"map list: IPv4 service"
	jq_check "$OUT" '[.services[] | select(.service == "[2001:db8:1::100]:80/tcp") | .backends[].backend] | sort == ["[2001:db8:2:1::1]:8080", "[2001:db8:2:2::1]:8080", "[2001:db8:2:3::1]:8080"]' \
		"map list: IPv6 service"

	cli 0 -j lookup "$SVC4" "$VX_CLIENT4:40000"
	jq_check "$OUT" '.service == "198.18.0.100:80/tcp" and .client == "198.18.0.10:40000" and (.backend | test("^198\\.19\\.[1-3]\\.1:8080$"))' \
		"lookup"
	cli 0 lookup "$SVC6" "[$VX_CLIENT6]:40000" --json
	jq_check "$OUT" '.service == "[2001:db8:1::100]:80/tcp" and .client == "[2001:db8:1::10]:40000" and (.backend | test("^\\[2001:db8:2:[1-3]::1\\]:8080$"))' \
		"lookup (IPv6)"
}

# In JSON mode every error, usage errors included, is one JSON object
# {"error": "..."} on stdout, with the usual exit code.
test_json_errors() {
	local c rc args re plain=$T/plain
	mkdir -p "$plain"
	local -a cases=(
		"1|map del 198.18.0.99:80/tcp|198\.18\.0\.99"
		"1|lookup $VX_VIP4:81/tcp $VX_CLIENT4:40000|198\.18\.0\.100:81"
		"1|load nosuchif0|nosuchif0"
		"1|--bpffs $plain status|bpf"
		"2|frobnicate|frobnicate"
		"2|map add 198.18.0.300:80/tcp 198.19.1.1:8080|198\.18\.0\.300"
	)
	for c in "${cases[@]}"; do
		rc=${c%%|*}
		c=${c#*|}
		args=${c%%|*}
		re=${c#*|}
		# shellcheck disable=SC2086
		check_rc "$rc" timeout 10 ip netns exec "$NS_LB" "$VIPXDP" --bpffs "$VX_BPFFS" -j $args
		jq_check "$OUT" '.error | type == "string" and length > 0' "'-j $args': {\"error\": ...} on stdout"
		[ "$(jq -s length "$OUT")" = 1 ] || fail "'-j $args': more than one JSON value on stdout"
		assert_match "$(jq -r .error "$OUT")" "$re" "'-j $args': error names the problem"
	done
	# -j after the subcommand too.
	cli 1 map del 198.18.0.99:80/tcp -j
	jq_check "$OUT" '.error | type == "string"' "'map del ... -j': JSON error"
}

# apply --dry-run reports what would change (a backend set change with the
# share of flows that would move) and changes nothing.
test_apply_dry_run() {
	status_json "$T/before.json"
	write_policy "$T/p.yaml" "1:100 2:100"
	cat "$T/p.yaml"
	cli 0 -j apply -c "$T/p.yaml" --dry-run
	jq_check "$OUT" '.dry_run == true' "dry_run is true"
	jq_check "$OUT" '[.changed[] | select(.service == "198.18.0.100:80/tcp" and .moved_share > 0 and .moved_share <= 1)] | length == 1' \
		"the IPv4 service is reported as changed"
	jq_check "$OUT" '(.added | type == "array") and (.removed | type == "array")' "added / removed lists"
	status_json "$T/after.json"
	diff -u "$T/before.json" "$T/after.json" || fail "apply --dry-run changed the state"
}

# settings.flow_cache: on after load; `apply` turns it off and on again,
# says so in its plan, `status` shows it, and HTTP through the VIP works in
# both states.
test_flow_cache_setting() {
	cli 0 -j status
	jq_check "$OUT" '.settings.flow_cache == true' "flow cache on after load"
	write_policy "$T/fc.yaml" "1:100 2:100 3:100"
	{ echo "settings:"; echo "  flow_cache: false"; cat "$T/fc.yaml"; } >"$T/fc-off.yaml"
	cli 0 apply -c "$T/fc-off.yaml"
	grep -qF "~ flow_cache on -> off" "$OUT" || fail "the plan shows the flow cache going off"
	cli 0 -j status
	jq_check "$OUT" '.settings.flow_cache == false' "flow cache off"
	require_http "$URL4"
	require_http "$URL6"
	cli 0 apply -c "$T/fc.yaml"
	grep -qF "~ flow_cache off -> on" "$OUT" || fail "the plan shows the flow cache going on"
	cli 0 status
	grep -q "flow_cache on" "$OUT" || fail "status shows the flow cache on"
	require_http "$URL4"
}

# 20 successive applies (alternating backend sets and weights, both VIPs,
# including draining with weight 0 and a single backend) while clients make
# at least 2,000 IPv4 requests and more over IPv6, each new connection
# under a 3-second limit: not one request fails; the final state is the
# last file's.
test_apply_under_load() {
	local i s v4 v6 exp4 exp6 loop pid4 pid6 ok4 bad4 ok6 bad6 total4
	local -a sets=("1:100 2:100 3:100" "1:100 2:100" "2:300 3:100" "1:0 2:100 3:100" "3:100" "1:50 2:100 3:200")
	local -a sets6=("1:100 2:100 3:100" "2:100 3:100" "1:100" "1:100 3:100")
	for ((i = 0; i < 20; i++)); do
		write_policy "$T/p$i.yaml" "${sets[i % ${#sets[@]}]}" "${sets6[i % ${#sets6[@]}]}"
	done
	require_http "$URL4"
	require_http "$URL6"
	rm -f "$T/stop"
	# Client loop (runs in the client namespace): batches of 50 requests,
	# one curl each (a new connection per URL), until told to stop and MIN
	# requests are done; at most 80 batches. Prints each answer's body
	# ("beN") and a line "HTTP_CODE/CURL_EXIT_CODE" per request ("200/0"
	# when complete; curl's own error messages go to the same output).
	# shellcheck disable=SC2016 # expanded by the inner shell
	loop='url=$1 min=$2 stop=$3 b=0
		while [ "$b" -lt 80 ]; do
			urls=()
			for i in $(seq 50); do urls+=("${url}?b${b}_$i"); done
			curl -g -sS --max-time 3 -w "\n%{http_code}/%{exitcode}\n" "${urls[@]}"
			b=$((b + 1))
			[ -e "$stop" ] && [ $((b * 50)) -ge "$min" ] && break
		done'
	vx_in "$NS_CLIENT" 140 bash -c "$loop" loop "$URL4" 2000 "$T/stop" >"$T/load4.out" 2>&1 &
	pid4=$!
	vx_in "$NS_CLIENT" 140 bash -c "$loop" loop "$URL6" 300 "$T/stop" >"$T/load6.out" 2>&1 &
	pid6=$!
	for ((i = 0; i < 20; i++)); do
		# Spread the applies over the first 2,000 requests (at most 15 s
		# a step; a slow client loop only delays the apply).
		wait_requests "$T/load4.out" $((i * 100 + 50)) 15
		cli 0 -j apply -c "$T/p$i.yaml"
		jq_check "$OUT" '.dry_run == false' "apply $i: dry_run false"
		if [ "${sets[i % ${#sets[@]}]}" = "1:0 2:100 3:100" ]; then
			cli 0 -j status
			jq_check "$OUT" "$JQ_SVC4 | .backends[] | select(.address == \"198.19.1.1\") | .weight == 0 and .state == \"draining\"" \
				"weight 0 shows as draining"
		fi
	done
	touch "$T/stop"
	wait "$pid4"
	wait "$pid6"
	ok4=$(grep -cx 200/0 "$T/load4.out")
	bad4=$(grep -Ex '[0-9]{3}/[0-9]+' "$T/load4.out" | grep -vcx 200/0)
	ok6=$(grep -cx 200/0 "$T/load6.out")
	bad6=$(grep -Ex '[0-9]{3}/[0-9]+' "$T/load6.out" | grep -vcx 200/0)
	total4=$((ok4 + bad4))
	echo "IPv4: $ok4 ok, $bad4 failed; IPv6: $ok6 ok, $bad6 failed"
	echo "IPv4 backends: $(grep -x 'be[0-9]*' "$T/load4.out" | sort | uniq -c | tr '\n' ' ')"
	grep -hv -x -E '200/0|be[0-9]+|' "$T/load4.out" "$T/load6.out" | head -20
	if [ "$bad4" -ne 0 ] || [ "$bad6" -ne 0 ]; then
		cli 0 -j stats
		echo "non-zero reason counters: $(jq -c '.reasons | with_entries(select(.value.packets > 0))' "$OUT")"
		fail "requests failed during applies"
	fi
	[ "$total4" -ge 2000 ] || fail "only $total4 IPv4 requests made"
	[ "$ok6" -ge 300 ] || fail "only $ok6 IPv6 requests made"

	# Final state: p19.
	v4=${sets[19 % ${#sets[@]}]}
	v6=${sets6[19 % ${#sets6[@]}]}
	exp4=$(for s in $v4; do echo "198.19.${s%%:*}.1:${s#*:}"; done | jq -R . | jq -sc .)
	exp6=$(for s in $v6; do echo "2001:db8:2:${s%%:*}::1"; done | jq -R . | jq -sc .)
	cli 0 -j status
	jq_check "$OUT" "[$JQ_SVC4 | .backends[] | \"\\(.address):\\(.weight)\"] | sort == ($exp4 | sort)" \
		"final IPv4 backends:weights are those of the last file: $exp4"
	jq_check "$OUT" "[$JQ_SVC6 | .backends[] | .address] | sort == ($exp6 | sort)" \
		"final IPv6 backends are those of the last file: $exp6"
}

# A broken policy (a bad value, and a YAML syntax error) is rejected with
# exit 1 and its exact FILE:LINE:COLUMN location; the running state is
# unchanged and traffic keeps flowing.
test_apply_broken_yaml() {
	local res
	status_json "$T/before.json"
	printf '%s\n' '# broken on purpose: a port that is not a number' \
		'vips:' \
		'  - address: 198.18.0.100' \
		'    services:' \
		'      - protocol: tcp' \
		'        port: eighty' \
		'        backends:' \
		'          - {address: 198.19.1.1, port: 8080}' >"$T/bad-value.yaml"
	printf 'vips:\n  - address: 198.18.0.100\n    services:\n\t- protocol: tcp\n' >"$T/bad-syntax.yaml"
	cli 1 apply -c "$T/bad-value.yaml"
	assert_match "$(err)" "^$T/bad-value\.yaml:6:15: " "location of the bad value"
	cli 1 apply -c "$T/bad-syntax.yaml"
	assert_match "$(err)" "^$T/bad-syntax\.yaml:4:1: " "location of the syntax error"
	cli 1 apply -c "$T/bad-value.yaml" --dry-run
	assert_match "$(err)" "^$T/bad-value\.yaml:6:15: " "location of the bad value (dry run)"
	status_json "$T/after.json"
	diff -u "$T/before.json" "$T/after.json" || fail "a rejected policy changed the state"
	require_http "$URL4"
	res=$(fetch_ports "$URL4" 61300 10)
	echo "$res"
	expect_all_ok "$res" "traffic after the rejected policy"
}

# No daemon: the data path runs on its own. Every vipxdp process there is
# is killed (here a `stats --watch` left running); none remains, traffic
# keeps flowing over IPv4 and IPv6, and a new `vipxdp -j status` shows the
# same state as before.
test_kill_cli() {
	local pid pids i res
	status_json "$T/before.json"
	VX_CLI_TIMEOUT=60 vx_cli stats --watch 1 >/dev/null 2>&1 &
	for ((i = 0; i < 50; i++)); do
		[ -n "$(our_vipxdp_pids)" ] && break
		sleep 0.1
	done
	pids=$(our_vipxdp_pids)
	[ -n "$pids" ] || fail "the background vipxdp did not start"
	for pid in $pids; do
		echo "killing vipxdp pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
		kill -KILL "$pid"
	done
	wait
	pids=$(our_vipxdp_pids)
	[ -z "$pids" ] || fail "vipxdp still running: $pids"
	echo "system-wide pgrep -x vipxdp (other runs' processes may appear): $(pgrep -x vipxdp | tr '\n' ' ')"
	require_http "$URL4"
	res=$(fetch_ports "$URL4" 61400 20)
	expect_all_ok "$res" "IPv4 traffic without any vipxdp process"
	require_http "$URL6"
	res=$(fetch_ports "$URL6" 61420 10)
	expect_all_ok "$res" "IPv6 traffic without any vipxdp process"
	status_json "$T/after.json"
	diff -u "$T/before.json" "$T/after.json" || fail "state changed"
}

# unload --keep-state detaches the programs but keeps the pinned state: the
# configuration survives, and a new load on the same interfaces brings the
# same services back with traffic flowing.
test_unload_keep_state() {
	local res
	status_json "$T/before.json"
	# shellcheck disable=SC2046
	cli 0 unload $(vx_lb_ifaces) --keep-state
	ifaces_attached none
	[ -n "$(ls -A "$VX_BPFFS/vipxdp" 2>/dev/null)" ] || fail "pins removed despite --keep-state"
	ls -l "$VX_BPFFS/vipxdp"
	cli 0 -j map list
	jq_check "$OUT" '.services | length == 2' "services kept"
	# shellcheck disable=SC2046
	cli 0 load $(vx_lb_ifaces) --mode native
	ifaces_attached xdp
	status_json "$T/after.json"
	jq -S '.vips' "$T/before.json" >"$T/vips-before.json"
	jq -S '.vips' "$T/after.json" >"$T/vips-after.json"
	diff -u "$T/vips-before.json" "$T/vips-after.json" || fail "VIPs/services differ after unload --keep-state and load"
	require_http "$URL4"
	res=$(fetch_ports "$URL4" 61500 10)
	expect_all_ok "$res" "IPv4 traffic after reload"
	require_http "$URL6"
	res=$(fetch_ports "$URL6" 61510 5)
	expect_all_ok "$res" "IPv6 traffic after reload"
}

# The change counter the data path reads (a global variable of the BPF
# object) is the map pinned as vipxdp_gen, also after the reload above with
# kept state, and a change moves it on by one.
# gen_value: the value of the map pinned as vipxdp_gen.
gen_value() {
	bpftool -j map dump pinned "$VX_BPFFS/vipxdp/vipxdp_gen" |
		jq -r '.[0].formatted.value[".data.gen"][0].vipxdp_gen'
}

test_change_counter() {
	local gen_id prog_id g0 g1
	gen_id=$(bpftool -j map show pinned "$VX_BPFFS/vipxdp/vipxdp_gen" | jq -r .id)
	[[ "$gen_id" =~ ^[0-9]+$ ]] || fail "no map pinned as vipxdp_gen"
	prog_id=$(bpftool -j link show pinned "$VX_BPFFS/vipxdp/link_$VX_LB_CLIENT_IF" | jq -r .prog_id)
	[[ "$prog_id" =~ ^[0-9]+$ ]] || fail "no link pinned for $VX_LB_CLIENT_IF"
	bpftool -j prog show id "$prog_id" >"$T/prog.json" || fail "bpftool prog show id $prog_id"
	jq_check "$T/prog.json" ".map_ids | index($gen_id) != null" \
		"the data path uses the map pinned as vipxdp_gen (id $gen_id)"
	g0=$(gen_value)
	[[ "$g0" =~ ^[0-9]+$ ]] || fail "cannot read vipxdp_gen: $g0"
	cli 0 map add "$VX_VIP4:5353/udp" "$(vx_be4 1):5353"
	cli 0 map del "$VX_VIP4:5353/udp"
	g1=$(gen_value)
	[ "$g1" = $((g0 + 2)) ] || fail "vipxdp_gen went from $g0 to $g1 over two changes, not by 2"
}

# unload of every interface detaches the programs and removes the pins;
# the VIP then no longer answers.
test_unload_removes_pins() {
	# shellcheck disable=SC2046
	cli 0 unload $(vx_lb_ifaces)
	ifaces_attached none
	if [ -d "$VX_BPFFS/vipxdp" ] && [ -n "$(ls -A "$VX_BPFFS/vipxdp")" ]; then
		ls -l "$VX_BPFFS/vipxdp"
		fail "pins left behind"
	fi
	find "$VX_BPFFS" | sed 's/^/  bpffs: /'
	# Any curl failure will do (timeout, unreachable): the VIP is gone.
	vx_in "$NS_CLIENT" 10 curl -s --max-time 2 "$URL4" && fail "the VIP still answers after unload"
	return 0
}

vx_test test_load_native "load on every lb interface in native mode"
vx_test test_http_ipv4_arp "HTTP through the IPv4 VIP, resolved by ARP"
vx_test test_http_ipv6_ndp "HTTP through the IPv6 VIP, resolved by NDP"
vx_test test_distribution_lookup "60 flows spread over backends; lookup predicts the backend"
vx_test test_counters "stats: new_flows exact, packet counters grow"
vx_test test_cli_success "subcommands' success paths and global options"
vx_test test_cli_usage_errors "bad arguments: exit 2, message names the argument"
vx_test test_cli_failures "failures: exit 1 with a useful message, state unchanged"
vx_test test_json_output "JSON output of status, stats, map list, lookup"
vx_test test_json_errors "JSON errors on stdout"
vx_test test_apply_dry_run "apply --dry-run reports and changes nothing"
vx_test test_flow_cache_setting "settings.flow_cache off and on again: plan, status, traffic"
vx_test test_apply_under_load "20 applies under load: zero failed requests"
vx_test test_apply_broken_yaml "broken policy: FILE:LINE:COLUMN, state and traffic unchanged"
vx_test test_kill_cli "every vipxdp process killed: traffic and state unchanged"
vx_test test_unload_keep_state "unload --keep-state keeps the state; load restores traffic"
vx_test test_change_counter "the data path reads the pinned change counter, which changes move on"
vx_test test_unload_removes_pins "unload removes the pins"
vx_main "$@"
